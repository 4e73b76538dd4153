// Command poweroff is the bare boot's init: it powers the machine off and
// nothing else. Package syscall rather than golang.org/x/sys keeps the
// static binary at about 1.2 MB (with -ldflags=-s -w).
package main

import "syscall"

func main() {
	syscall.Sync()
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}
