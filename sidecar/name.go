package sidecar

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
)

// maxNameLen bounds the sanitised test name in a file name, leaving room
// for the hash and suffix within the usual 255-byte limit.
const maxNameLen = 200

// SanitizeTestName turns a go test name into a file-name part: '/' (the
// subtest separator) becomes '.', every byte other than ASCII letters,
// digits and "._+=-" becomes '_', a leading '.' becomes '_' (no hidden
// files), and the result is cut to 200 bytes. An empty name gives "_".
func SanitizeTestName(name string) string { return sanitize(name, '.') }

// sanitize maps name to a file-name part, '/' becoming slash.
func sanitize(name string, slash byte) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < maxNameLen; i++ {
		c := name[i]
		switch {
		case c == '/':
			c = slash
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '+', c == '=', c == '-':
		default:
			c = '_'
		}
		if b.Len() == 0 && c == '.' {
			c = '_'
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// VariantHash returns 16 hex digits identifying the variant r is a result
// of: a SHA-256 over its test name, kernel version, topology, scheduler,
// sorted flags, work type, payload, sorted sysctls and sorted kernel
// arguments. Outcomes, statistics, commits, host and times do not enter
// it, so reruns of a variant get the same hash and replace each other.
func VariantHash(r *Result) string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	list := func(tag string, xs []string) {
		xs = append([]string(nil), xs...)
		sort.Strings(xs)
		field(tag)
		field(strconv.Itoa(len(xs)))
		for _, x := range xs {
			field(x)
		}
	}
	field("ktstr-variant-v1")
	field(r.TestName)
	field(r.KernelVersion)
	field(r.Topology)
	field(r.Scheduler)
	list("flags", r.Flags)
	field(r.WorkType)
	field(r.Payload)
	sysctls := make([]string, 0, len(r.Sysctls))
	for k, v := range r.Sysctls {
		sysctls = append(sysctls, k+"="+v)
	}
	list("sysctls", sysctls)
	list("kargs", r.KernelArgs)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// FileName returns the sidecar file name of r:
// {SanitizeTestName(test)}-{VariantHash}.ktstr.json.
func FileName(r *Result) string {
	return SanitizeTestName(r.TestName) + "-" + VariantHash(r) + FileSuffix
}
