package stats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// Policy overrides the registry's thresholds, from a JSON file:
//
//	{
//	  "default_percent": 10,
//	  "per_metric_percent": {"worst_spread": 5},
//	  "metrics": {
//	    "payload.iops": {"polarity": "higher", "percent": 5, "abs": 100},
//	    "worst_gap_ms": {"abs": 250}
//	  }
//	}
//
// Relative thresholds are in percent. For each metric the relative
// threshold is the first given of: metrics[name].percent,
// per_metric_percent[name], the --threshold flag, default_percent, the
// registry's (or DefaultPolicy's). Abs and polarity come from
// metrics[name] when given there.
type Policy struct {
	// DefaultPercent is the relative threshold of every metric.
	DefaultPercent *float64 `json:"default_percent,omitempty"`
	// PerMetricPercent are relative thresholds by metric name.
	PerMetricPercent map[string]float64 `json:"per_metric_percent,omitempty"`
	// Metrics are full overrides by metric name.
	Metrics map[string]Override `json:"metrics,omitempty"`
}

// Override changes one metric's policy; unset fields keep the registry's.
type Override struct {
	// Polarity sets the better direction ("lower", "higher", "unknown").
	Polarity *Polarity `json:"polarity,omitempty"`
	// Abs sets the absolute threshold.
	Abs *float64 `json:"abs,omitempty"`
	// Percent sets the relative threshold, in percent.
	Percent *float64 `json:"percent,omitempty"`
}

// ParsePolicy parses a policy. Unknown keys and negative or non-finite
// thresholds are errors.
func ParsePolicy(data []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	check := func(what string, v *float64) error {
		if v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return fmt.Errorf("policy: %s: %v is not a threshold (want a number ≥ 0)", what, *v)
		}
		return nil
	}
	if err := check("default_percent", p.DefaultPercent); err != nil {
		return nil, err
	}
	for name, v := range p.PerMetricPercent {
		if err := check("per_metric_percent."+name, &v); err != nil {
			return nil, err
		}
	}
	for name, o := range p.Metrics {
		if err := check("metrics."+name+".abs", o.Abs); err != nil {
			return nil, err
		}
		if err := check("metrics."+name+".percent", o.Percent); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// LoadPolicy reads and parses a policy file.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Thresholds decides each metric's policy from the registry, a uniform
// relative threshold and a policy file.
type Thresholds struct {
	// Percent, when set, is the relative threshold of every metric (the
	// --threshold flag), below per-metric policy entries.
	Percent *float64
	// Policy, when set, overrides per metric.
	Policy *Policy
}

// For returns the policy of the metric name: the registry entry, or
// DefaultPolicy named name, with the overrides applied.
func (t Thresholds) For(name string) Metric {
	m, ok := Lookup(name)
	if !ok {
		m = DefaultPolicy
		m.Name = name
	}
	p := t.Policy
	if p != nil && p.DefaultPercent != nil {
		m.Rel = *p.DefaultPercent / 100
	}
	if t.Percent != nil {
		m.Rel = *t.Percent / 100
	}
	if p != nil {
		if v, ok := p.PerMetricPercent[name]; ok {
			m.Rel = v / 100
		}
		if o, ok := p.Metrics[name]; ok {
			if o.Percent != nil {
				m.Rel = *o.Percent / 100
			}
			if o.Abs != nil {
				m.Abs = *o.Abs
			}
			if o.Polarity != nil {
				m.Polarity = *o.Polarity
			}
		}
	}
	return m
}
