// Package sidecar reads and writes ktstr's per-variant result files.
//
// Every test variant that ran or was skipped leaves one JSON file, a
// sidecar, named {test}-{variant hash}.ktstr.json (see FileName), in the
// run directory of its kernel and project commit:
//
//	{KTSTR_TARGET_DIR or <module root>/target}/ktstr/{kernel}-{project commit}/
//
// The project commit is the first 7 hex digits of HEAD of the git work tree
// the tests run in, with "-dirty" appended when tracked files differ from
// HEAD or untracked files exist outside the target directory, and "unknown"
// outside git (see ProjectCommit). KTSTR_SIDECAR_DIR names an exact
// directory to write to instead.
//
// A run directory holds the latest run only: the first write of a run
// removes the directory's older sidecars. Test processes of one run (the
// package binaries go test runs in parallel) share a run id, from
// KTSTR_RUN_ID or derived from the go command that started them (see
// RunID), and a lock file in the directory makes exactly one of them clear
// it. Files are written atomically (temporary file and rename).
//
// The JSON schema is versioned (SchemaVersion, the "schema" field); ReadDir
// refuses files of a newer schema instead of misreading them.
package sidecar
