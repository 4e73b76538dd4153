package debian

import "time"

// Retries in tests need not wait for a real server to recover.
func init() { retryDelay = 10 * time.Millisecond }
