package history

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const (
	day   = 24 * time.Hour
	week  = 7 * day
	month = 30 * day
	year  = 365 * day

	// forever is the span of a rule without end.
	forever = time.Duration(math.MaxInt64)
	// longest is the longest span or bucket that can be written; a longer
	// span is written forever.
	longest = 100 * year
	// maxRules bounds a policy, so that its rules fit in an array and a
	// Policy can be compared with ==.
	maxRules = 8
	// gridOrigin is where bucket grids start, in Unix seconds: Monday
	// 1970-01-05 00:00 UTC, so weekly buckets run from Monday to Monday.
	gridOrigin = 4 * 24 * 60 * 60
)

// rule covers the versions whose age is past the previous rule's span and
// at most span.
type rule struct {
	span  time.Duration // forever for no end
	every time.Duration // bucket length; 0 keeps every version
}

var defaultRules = [...]rule{{day, 0}, {30 * day, day}, {52 * week, week}}

// Policy is a folder's retention policy: which of its files' old versions
// are kept, by how long ago they were replaced or deleted. The zero value is
// the default policy, 24h:all,30d:daily,52w:weekly. Policies compare with
// ==, and ParseKeep gives the same Policy for ways of writing it that differ
// in case, spaces or units (24h or 1d), or in splitting a rule into
// neighbours with the same EVERY, which keep the same versions.
type Policy struct {
	none  bool
	n     uint8 // rules in use; 0 (and not none) is the default
	rules [maxRules]rule
}

// Default returns the default policy: every version for 24 hours, one a day
// for 30 days, one a week for 52 weeks, then none.
func Default() Policy { return Policy{} }

// ParseKeep reads a policy written as for --keep: "none", "forever", or
// comma-separated rules SPAN:EVERY. SPAN is a count with a unit, m, h, d (24
// hours), w (7 days) or y (365 days), or forever in the last rule; EVERY is
// all, hourly, daily, weekly, monthly (30 days) or a count with a unit.
// Spans increase from rule to rule, and so do bucket lengths or stay the
// same. Case and spaces around commas and colons do not matter. The empty
// string is the default policy.
func ParseKeep(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return Policy{}, nil
	case "none":
		return Policy{none: true}, nil
	case "forever":
		return policyOf([]rule{{forever, 0}}), nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxRules {
		return Policy{}, fmt.Errorf("keep %q: %d rules; at most %d", s, len(parts), maxRules)
	}
	rules := make([]rule, 0, len(parts))
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			return Policy{}, fmt.Errorf("keep %q: empty rule; want SPAN:EVERY rules separated by commas", s)
		}
		r, err := parseRule(part)
		if errors.Is(err, errNoColon) && len(parts) == 1 {
			return Policy{}, fmt.Errorf("keep %q: want SPAN:EVERY rules (e.g. 24h:all,30d:daily), none or forever", s)
		}
		if err == nil && i > 0 {
			err = checkOrder(rules[i-1], r)
		}
		if err != nil {
			return Policy{}, fmt.Errorf("keep %q: %w", part, err)
		}
		rules = append(rules, r)
	}
	return policyOf(rules), nil
}

var errNoColon = errors.New("want SPAN:EVERY, e.g. 30d:daily or forever:monthly")

// parseRule reads one SPAN:EVERY rule.
func parseRule(s string) (rule, error) {
	span, every, ok := strings.Cut(strings.ToLower(s), ":")
	if !ok {
		return rule{}, errNoColon
	}
	var r rule
	var err error
	if span = strings.TrimSpace(span); span == "forever" {
		r.span = forever
	} else if r.span, err = parseLength(span, "span"); err != nil {
		return rule{}, err
	}
	switch every = strings.TrimSpace(every); every {
	case "all":
	case "hourly":
		r.every = time.Hour
	case "daily":
		r.every = day
	case "weekly":
		r.every = week
	case "monthly":
		r.every = month
	default:
		if every == "" || every[0] < '0' || every[0] > '9' {
			return rule{}, fmt.Errorf("unknown EVERY %q; use all, hourly, daily, weekly, monthly or a length such as 6h", every)
		}
		if r.every, err = parseLength(every, "EVERY"); err != nil {
			return rule{}, err
		}
	}
	return r, nil
}

var units = map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": day, "w": week, "y": year}

// parseLength reads a count with a unit, such as 30d; what names the part
// of the rule it is, for errors.
func parseLength(s, what string) (time.Duration, error) {
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if digits == 0 {
		return 0, fmt.Errorf("%s %q has no count; want a count and a unit, e.g. 30d", what, s)
	}
	unit := strings.TrimSpace(s[digits:])
	if unit == "" {
		return 0, fmt.Errorf("%s %q has no unit; use m, h, d, w or y", what, s)
	}
	u, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q in %s; use m, h, d, w or y", unit, what)
	}
	n, err := strconv.ParseInt(s[:digits], 10, 64)
	switch {
	case err != nil || n > int64(longest/u):
		return 0, fmt.Errorf("%s %q is longer than 100y", what, s)
	case n == 0:
		return 0, fmt.Errorf("%s %q is zero; it must be at least 1m", what, s)
	}
	return time.Duration(n) * u, nil
}

// checkOrder reports whether r may follow prev.
func checkOrder(prev, r rule) error {
	switch {
	case prev.span == forever:
		return errors.New("follows a rule with span forever, which must be the last")
	case r.span <= prev.span:
		return fmt.Errorf("span %s must be longer than the previous rule's %s; rules go from newer versions to older",
			formatSpan(r.span), formatSpan(prev.span))
	case r.every < prev.every:
		return fmt.Errorf("%s is more often than the previous rule's %s; older versions are kept as often or less",
			formatEvery(r.every), formatEvery(prev.every))
	}
	return nil
}

// policyOf makes the policy of valid rules, merging neighbours that keep
// the same (Keep treats them alike), so that equal policies compare equal.
func policyOf(rules []rule) Policy {
	var p Policy
	for _, r := range rules {
		if p.n > 0 && p.rules[p.n-1].every == r.every {
			p.rules[p.n-1].span = r.span
			continue
		}
		p.rules[p.n] = r
		p.n++
	}
	if p.n == uint8(len(defaultRules)) && [len(defaultRules)]rule(p.rules[:p.n]) == defaultRules {
		return Policy{}
	}
	return p
}

// list returns the policy's rules, none for a policy that keeps nothing.
func (p Policy) list() []rule {
	switch {
	case p.none:
		return nil
	case p.n == 0:
		return defaultRules[:]
	}
	return p.rules[:p.n]
}

// None reports whether the policy keeps no history.
func (p Policy) None() bool { return p.none }

// Forever reports whether the policy keeps every version for good.
func (p Policy) Forever() bool {
	r := p.list()
	return len(r) == 1 && r[0] == rule{forever, 0}
}

// String returns the policy in the form ParseKeep reads; it is the same for
// equal policies, and ParseKeep(p.String()) == p.
func (p Policy) String() string {
	switch {
	case p.none:
		return "none"
	case p.Forever():
		return "forever"
	}
	var b strings.Builder
	for i, r := range p.list() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(formatSpan(r.span))
		b.WriteByte(':')
		b.WriteString(formatEvery(r.every))
	}
	return b.String()
}

// MarshalText returns p.String(), so a policy is stored as it is written.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText sets p from text as ParseKeep reads it.
func (p *Policy) UnmarshalText(text []byte) error {
	q, err := ParseKeep(string(text))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

func formatSpan(d time.Duration) string {
	if d == forever {
		return "forever"
	}
	return formatLength(d)
}

func formatEvery(d time.Duration) string {
	switch d {
	case 0:
		return "all"
	case time.Hour:
		return "hourly"
	case day:
		return "daily"
	case week:
		return "weekly"
	case month:
		return "monthly"
	}
	return formatLength(d)
}

// formatLength writes d in its largest whole unit, except that one day is
// written 24h.
func formatLength(d time.Duration) string {
	for _, u := range [...]struct {
		d    time.Duration
		name string
	}{{year, "y"}, {week, "w"}, {day, "d"}, {time.Hour, "h"}} {
		if d%u.d == 0 && (u.d != day || d != day) {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
}

// Keep decides which versions to keep at time now. ends[i] is when version
// i stopped being the current one (it was replaced or deleted); ends need
// not be sorted. It returns keep[i] for each.
//
// A version's age, now minus its end, picks its rule: the first whose span
// the age does not exceed (an end after now counts as age 0). Past the last
// span nothing is kept. A rule with EVERY all keeps every version. Otherwise
// a version is kept if no version among ends ended later in the same bucket
// of its rule, or of a later rule: a later rule will reach it, and must find
// it there (this keeps more only where a bucket length is not a multiple of
// the one before, as with weekly then monthly; where it is, the latest of a
// long bucket is the latest of its short one too). Versions that end at the
// same instant are kept or dropped together.
//
// Keep is stable: pruning to what it keeps, and pruning what is left again
// later, keeps exactly what one pruning at the later time would have kept.
// Precisely, for now1 <= now2, let K be the versions Keep(ends, now1) keeps,
// and A versions added since, none ending before a version in ends. Then
// Keep at now2 keeps the same versions of K and A as it keeps of ends and A.
// So how often pruning runs makes no difference, a version once dropped
// would not have been kept later, and a version is never dropped merely
// because time passed within its rule. (Versions added with earlier ends, as
// after the clock went back, can be kept where a dropped version would have
// been the latest of their bucket.)
func (p Policy) Keep(ends []time.Time, now time.Time) []bool {
	keep := make([]bool, len(ends))
	rules := p.list()
	if len(rules) == 0 {
		return keep
	}
	latest := make([]map[int64]time.Time, len(rules))
	for j, r := range rules {
		if r.every > 0 {
			latest[j] = latestByBucket(ends, r.every)
		}
	}
	for i, e := range ends {
		k := ruleFor(rules, now.Sub(e))
		if k < 0 {
			continue
		}
		keep[i] = rules[k].every == 0
		for j := k; j < len(rules) && !keep[i]; j++ {
			keep[i] = latest[j][bucket(e, rules[j].every)].Equal(e)
		}
	}
	return keep
}

// ruleFor returns the index of the rule for a version of this age, or -1
// past the last span.
func ruleFor(rules []rule, age time.Duration) int {
	for k, r := range rules {
		if age <= r.span {
			return k
		}
	}
	return -1
}

// latestByBucket returns the latest end in each bucket of length every.
func latestByBucket(ends []time.Time, every time.Duration) map[int64]time.Time {
	m := make(map[int64]time.Time)
	for _, e := range ends {
		b := bucket(e, every)
		if l, ok := m[b]; !ok || e.After(l) {
			m[b] = e
		}
	}
	return m
}

// bucket returns the number of the bucket of length every that t falls in.
// Lengths are whole minutes, so whole seconds place t exactly.
func bucket(t time.Time, every time.Duration) int64 {
	s, n := t.Unix()-gridOrigin, int64(every/time.Second)
	q := s / n
	if s%n < 0 {
		q--
	}
	return q
}
