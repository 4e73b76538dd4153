package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// StatusError is an HTTP answer other than 200 OK.
type StatusError struct {
	URL    string // what was requested
	Code   int    // e.g. 404
	Status string // e.g. "404 Not Found"
}

// Error names the URL and the status the server gave.
func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: server answered %s", e.URL, e.Status)
}

// IsNotFound reports whether err is an HTTP 404 or 410 answer.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusGone)
}

// want is what the release file or index says a download must be. A zero
// size or empty hash is not checked (used for the release file itself,
// which the signature covers instead).
type want struct {
	size   int64
	sha256 string
}

// sink receives a download; reset discards a partial attempt before a retry.
type sink interface {
	io.Writer
	reset() error
}

type bufSink struct{ bytes.Buffer }

func (b *bufSink) reset() error { b.Reset(); return nil }

type fileSink struct{ *os.File }

func (f fileSink) reset() error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// defaultClient is used when Fetcher.HTTP is nil. It has no overall timeout
// (a 14 MB .deb on a slow link takes a while; the context bounds that) but
// gives up on a server that never answers.
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
	IdleConnTimeout:       90 * time.Second,
	MaxIdleConnsPerHost:   4,
}}

func (f *Fetcher) client() *http.Client {
	if f.HTTP != nil {
		return f.HTTP
	}
	return defaultClient
}

// download GETs url into s, streaming it through SHA256 and checking the
// size and hash against w. Transient failures (network errors, 5xx, a cut
// connection) are retried once; checksum mismatches are not, since a mirror
// that served a wrong file once will likely do so again.
func (f *Fetcher) download(ctx context.Context, url, name string, w want, s sink) error {
	err := f.downloadOnce(ctx, url, name, w, s)
	if err == nil || !transient(ctx, err) {
		return err
	}
	if rerr := s.reset(); rerr != nil {
		return fmt.Errorf("%w (and could not reset for a retry: %v)", err, rerr)
	}
	select {
	case <-ctx.Done():
		return err
	case <-time.After(retryDelay):
	}
	if err2 := f.downloadOnce(ctx, url, name, w, s); err2 != nil {
		if err2.Error() == err.Error() {
			return fmt.Errorf("%w (the same after a retry)", err2)
		}
		return fmt.Errorf("%w (after a retry; first attempt: %v)", err2, err)
	}
	return nil
}

// maxUnsized bounds downloads whose size no index gives.
const maxUnsized = 64 << 20

// retryDelay gives a flaky server or network a moment before the retry.
var retryDelay = time.Second

// errTruncated marks a body shorter than announced, which is worth a retry.
var errTruncated = errors.New("download cut short")

func (f *Fetcher) downloadOnce(ctx context.Context, url, name string, w want, s sink) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad archive URL %q: %w; check --mirror", url, err)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{URL: url, Code: resp.StatusCode, Status: resp.Status}
	}
	if w.size > 0 && resp.ContentLength >= 0 && resp.ContentLength != w.size {
		return fmt.Errorf("GET %s: server announces %d bytes, the archive index says %d: wrong or stale file on the mirror; retry later or use another --mirror", url, resp.ContentLength, w.size)
	}
	total := w.size
	if total == 0 {
		total = resp.ContentLength
	}
	// Files of unknown size (the release files) are small; a server
	// sending endless data must not fill memory.
	body := io.Reader(resp.Body)
	if w.size == 0 {
		body = io.LimitReader(resp.Body, maxUnsized+1)
	}
	h := sha256.New()
	pw := &progressWriter{fn: f.Progress, name: name, total: total}
	n, err := io.Copy(io.MultiWriter(s, h, pw), body)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("GET %s: %w", url, ctx.Err())
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("GET %s: got %d bytes, expected %d: %w (connection closed early)", url, n, total, errTruncated)
		}
		return fmt.Errorf("GET %s: after %d bytes: %w", url, n, err)
	}
	if w.size == 0 && n > maxUnsized {
		return fmt.Errorf("GET %s: more than %d bytes, far more than a release file has; check --mirror", url, maxUnsized)
	}
	if w.size > 0 && n != w.size {
		return fmt.Errorf("GET %s: got %d bytes, expected %d per the archive index: %w or wrong file; retry, or use another --mirror", url, n, w.size, errTruncated)
	}
	if w.sha256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != w.sha256 {
			return fmt.Errorf("GET %s: SHA256 mismatch: expected %s, got %s; the mirror serves a corrupt or tampered file (or is mid-sync): retry later or use another --mirror", url, w.sha256, got)
		}
	}
	return nil
}

// transient reports whether a failed download is worth one retry.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests || se.Code == http.StatusRequestTimeout
	}
	if errors.Is(err, errTruncated) {
		return true
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF)
}
