// Package debian fetches a sched_ext-capable kernel from a Debian archive in
// pure Go: no apt, dpkg or root needed, and nothing is installed on the host.
//
// The chain of trust is apt's: the suite's InRelease file is checked against
// the Debian archive keyrings (when the host has them), the Packages index
// against the SHA256 in the release file, and each .deb against the SHA256 in
// the index. Adding the suite to the host's apt sources instead would make
// apt upgrade core libraries, so single files are fetched.
package debian
