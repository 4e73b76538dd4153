// Command poweroff is the smallest useful init: it powers the machine off.
// The boot benchmark uses it as the bare-boot baseline.
package main

import "golang.org/x/sys/unix"

func main() {
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}
