// Package report renders test runs as one self-contained HTML page: the
// run's verdicts, failures first, and for each test variant its steps,
// throughput over time, check figures against their limits, workers, the
// host monitor's per-CPU heat strips and the logs. [Compare] renders a
// comparison of two sides (ktstr stats compare) the same way.
//
// Pages are built from the result files (sidecars) runs write. Charts are
// drawn by gonum/plot as inline SVG; nothing on a page is fetched from
// anywhere, so a page opens from a CI artifact as it is.
package report
