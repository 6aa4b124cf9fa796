package history

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

const defaultKeep = "24h:all,30d:daily,52w:weekly"

func TestParseKeep(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", defaultKeep},
		{defaultKeep, defaultKeep},
		{" 24H:All , 30D : Daily,52w:WEEKLY ", defaultKeep},
		{"1d:all,30d:daily,52w:weekly", defaultKeep},
		{"12h:all,24h:all,30d:daily,52w:weekly", defaultKeep},
		{"none", "none"},
		{" NONE ", "none"},
		{"forever", "forever"},
		{"Forever", "forever"},
		{"forever:all", "forever"},
		{"24h:all,forever:all", "forever"},
		{"24h:all,forever:monthly", "24h:all,forever:monthly"},
		{"forever:daily", "forever:daily"},
		{"90m:all,48h:hourly,2y:6h", "90m:all,2d:hourly,2y:6h"},
		{"60m:all", "1h:all"},
		{"36h:all", "36h:all"},
		{"6 h:all", "6h:all"},
		{"7d:daily,14d:weekly", "1w:daily,2w:weekly"},
		{"365d:weekly", "1y:weekly"},
		{"52w:weekly", "52w:weekly"},
		{"24h:daily,30d:daily", "30d:daily"},
		{"30d:1440m", "30d:daily"},
		{"2y:10080m", "2y:weekly"},
		{"100y:all", "100y:all"},
		{"030d:daily", "30d:daily"},
	} {
		p, err := ParseKeep(tc.in)
		if err != nil {
			t.Errorf("ParseKeep(%q): %v", tc.in, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("ParseKeep(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		if q, err := ParseKeep(p.String()); err != nil || q != p {
			t.Errorf("ParseKeep(%q) = %v, %v; want %v again", p.String(), q, err, p)
		}
	}
}

func TestParseKeepErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"30x:daily", `keep "30x:daily": unknown unit "x" in span; use m, h, d, w or y`},
		{"24h:all,30X:Daily", `keep "30X:Daily": unknown unit "x" in span; use m, h, d, w or y`},
		{"30:daily", `keep "30:daily": span "30" has no unit; use m, h, d, w or y`},
		{"d:daily", `keep "d:daily": span "d" has no count`},
		{"-5d:all", `span "-5d" has no count`},
		{"5.5d:all", `unknown unit ".5d" in span`},
		{"0h:all", `keep "0h:all": span "0h" is zero`},
		{"101y:all", `span "101y" is longer than 100y`},
		{"99999999999999999999d:all", `is longer than 100y`},
		{"30d:often", `keep "30d:often": unknown EVERY "often"; use all, hourly, daily, weekly, monthly or a length such as 6h`},
		{"30d:", `unknown EVERY ""`},
		{"30d:6x", `keep "30d:6x": unknown unit "x" in EVERY`},
		{"30d:0h", `EVERY "0h" is zero`},
		{"30d:daily,24h:weekly", `keep "24h:weekly": span 24h must be longer than the previous rule's 30d`},
		{"30d:daily,30d:weekly", `keep "30d:weekly": span 30d must be longer`},
		{"24h:daily,30d:hourly", `keep "30d:hourly": hourly is more often than the previous rule's daily`},
		{"24h:daily,30d:all", `keep "30d:all": all is more often than the previous rule's daily`},
		{"forever:daily,52w:weekly", `keep "52w:weekly": follows a rule with span forever, which must be the last`},
		{"forever:daily,forever:weekly", `follows a rule with span forever`},
		{"24h:all,,30d:daily", `keep "24h:all,,30d:daily": empty rule`},
		{"24h:all,", `empty rule`},
		{"nothing", `keep "nothing": want SPAN:EVERY rules (e.g. 24h:all,30d:daily), none or forever`},
		{"30d", `keep "30d": want SPAN:EVERY rules`},
		{"24h:all,forever", `keep "forever": want SPAN:EVERY, e.g. 30d:daily or forever:monthly`},
		{"none,24h:all", `keep "none": want SPAN:EVERY`},
		{"1h:all,2h:all,3h:all,4h:all,5h:all,6h:all,7h:all,8h:all,9h:all", `9 rules; at most 8`},
		{"30d:daily:weekly", `unknown EVERY "daily:weekly"`},
	} {
		p, err := ParseKeep(tc.in)
		if err == nil {
			t.Errorf("ParseKeep(%q) = %v, want an error", tc.in, p)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("ParseKeep(%q): %q, want one line containing %q", tc.in, msg, tc.want)
		}
	}
}

func TestPolicyValues(t *testing.T) {
	if Default() != (Policy{}) || Default().String() != defaultKeep {
		t.Errorf("Default() = %v, want the zero Policy, %s", Default(), defaultKeep)
	}
	for _, tc := range []struct {
		in            string
		none, forever bool
	}{{"", false, false}, {"none", true, false}, {"forever", false, true}, {"24h:all,forever:all", false, true}, {"forever:daily", false, false}} {
		p := mustParse(t, tc.in)
		if p.None() != tc.none || p.Forever() != tc.forever {
			t.Errorf("%q: None %t, Forever %t; want %t, %t", tc.in, p.None(), p.Forever(), tc.none, tc.forever)
		}
	}
	var p Policy
	if err := p.UnmarshalText([]byte("24h:all,forever:monthly")); err != nil {
		t.Fatal(err)
	}
	if b, _ := p.MarshalText(); string(b) != "24h:all,forever:monthly" {
		t.Errorf("MarshalText = %q", b)
	}
	if err := p.UnmarshalText([]byte("30x:daily")); err == nil || p.String() != "24h:all,forever:monthly" {
		t.Errorf("UnmarshalText of a bad policy: %v, left %v", err, p)
	}
}

// now is a Tuesday; the Monday before is 2026-03-09.
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// ago returns the ends of versions that ended these long before now.
func ago(ages ...time.Duration) []time.Time {
	ends := make([]time.Time, len(ages))
	for i, a := range ages {
		ends[i] = now.Add(-a)
	}
	return ends
}

// ages returns the ages first, first+1, … last times unit.
func ages(first, last int, unit time.Duration) []time.Duration {
	var a []time.Duration
	for n := first; n <= last; n++ {
		a = append(a, time.Duration(n)*unit)
	}
	return a
}

func TestKeep(t *testing.T) {
	for _, tc := range []struct {
		name, keep string
		ages       []time.Duration
		want       []int // indices of the versions kept
	}{
		{"last hour all", "", ages(0, 9, 6*time.Minute), seq(0, 9)},
		// Hourly versions over two days: all of the last 24 h, and of the
		// day before (2026-03-08 UTC) its last, 23:00. The older versions
		// of 2026-03-09 go: that day's last version is within the 24 h.
		{"two days", "", ages(1, 48, time.Hour), append(seq(0, 23), 36)},
		{"at the spans", "", []time.Duration{24 * time.Hour, 30 * day, 52 * week, 52*week + time.Minute}, []int{0, 1, 2}},
		{"older than a year", "", []time.Duration{51 * week, 53 * week, 400 * day, 10 * year}, []int{0}},
		// Ages 31 to 44 days, at noon: the weeks from Monday 2026-02-02
		// (36 days ago) and 2026-01-26 (43 days ago) keep their last
		// versions, 31 and 37 days old, and the week before its one.
		{"weekly", "", ages(31, 44, day), []int{0, 6, 13}},
		{"end after now", "", []time.Duration{-time.Hour, 5 * time.Hour}, []int{0, 1}},
		{"same end", "", []time.Duration{50 * time.Hour, 50 * time.Hour, 51 * time.Hour}, []int{0, 1}},
		{"none", "none", []time.Duration{0, time.Minute, day}, nil},
		{"forever", "forever", []time.Duration{-time.Hour, 0, day, 30 * day, 10 * year, 200 * year}, seq(0, 5)},
		// The 30-day bucket from 2026-02-10 ends with the version an hour
		// old, so the day-old ones go; the one before ends 40 days ago.
		{"monthly", "24h:all,forever:monthly", []time.Duration{time.Hour, 25 * time.Hour, 26 * time.Hour, 40 * day, 41 * day, 10 * year}, []int{0, 3, 5}},
		{"hourly first", "24h:hourly", []time.Duration{time.Minute, 10 * time.Minute, 70 * time.Minute, 25 * time.Hour}, []int{0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep := mustParse(t, tc.keep).Keep(ago(tc.ages...), now)
			var got []int
			for i, k := range keep {
				if k {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
		})
	}
}

func seq(first, last int) []int {
	var s []int
	for i := first; i <= last; i++ {
		s = append(s, i)
	}
	return s
}

func mustParse(t *testing.T, s string) Policy {
	t.Helper()
	p, err := ParseKeep(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// policies are non-random cases for the property tests: the examples, and
// bucket lengths that are not multiples of the one before.
var policies = []string{
	"", "none", "forever", "24h:all,forever:monthly", "52w:weekly,forever:monthly",
	"90m:all,2d:hourly,30d:daily,forever:weekly", "7d:6h,90d:10h,2y:weekly,forever:monthly",
	"1h:5m,1d:7m,1w:3h,30d:25h", "24h:hourly",
}

// randomPolicy writes a valid policy of up to 5 rules.
func randomPolicy(r *rand.Rand) string {
	everies := []time.Duration{0, 5 * time.Minute, time.Hour, 6 * time.Hour, 10 * time.Hour, day, 45 * time.Hour, week, month}
	var rules []string
	var span time.Duration
	every := 0
	for range 1 + r.IntN(5) {
		unit := []time.Duration{time.Minute, time.Hour, day, week}[r.IntN(4)]
		span += time.Duration(1+r.IntN(60)) * unit
		every += r.IntN(len(everies) - every)
		rules = append(rules, formatSpan(span)+":"+formatEvery(everies[every]))
	}
	if r.IntN(3) == 0 {
		rules[len(rules)-1] = "forever:" + formatEvery(everies[every])
	}
	return strings.Join(rules, ",")
}

// TestKeepStable prunes versions again and again while a clock advances and
// new versions arrive, and checks that what is left each time is what Keep
// at that time keeps of every version there ever was (the stability Keep
// documents), and that pruning it again at once drops nothing.
func TestKeepStable(t *testing.T) {
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 0x6b656570))
		keep := policies[seed%uint64(len(policies))]
		if seed >= uint64(len(policies)) {
			keep = randomPolicy(r)
		}
		p := mustParse(t, keep)
		if err := prune(p, r); err != nil {
			t.Fatalf("seed %d, policy %s: %s", seed, p, err)
		}
	}
}

// prune runs one simulation of 300 steps.
func prune(p Policy, r *rand.Rand) error {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(week))))
	var all []time.Time // every version, in order of end
	var left []int      // indices in all of the versions pruning left
	for step := range 300 {
		prev := clock
		scale := []time.Duration{time.Second, time.Minute, time.Hour, day, week}[r.IntN(5)]
		clock = clock.Add(time.Duration(r.Int64N(int64(10 * scale))))
		for range r.IntN(4) {
			e := prev.Add(time.Duration(r.Int64N(int64(clock.Sub(prev)) + 1)))
			if n := len(all); n > 0 && (e.Before(all[n-1]) || r.IntN(8) == 0) {
				e = all[n-1] // ends never go back, and some coincide
			}
			all = append(all, e)
			left = append(left, len(all)-1)
		}
		left = pruned(p, all, left, clock)
		want := pruned(p, all, seq(0, len(all)-1), clock)
		if !slices.Equal(left, want) {
			return fmt.Errorf("step %d at %s: pruning left %s more, %s fewer than one pruning keeps",
				step, clock, ends(all, without(left, want)), ends(all, without(want, left)))
		}
		if again := pruned(p, all, left, clock); !slices.Equal(again, left) {
			return fmt.Errorf("step %d at %s: pruning again at once left %s of %s", step, clock, ends(all, again), ends(all, left))
		}
	}
	return nil
}

// pruned returns the indices of left that Keep keeps.
func pruned(p Policy, all []time.Time, left []int, now time.Time) []int {
	e := make([]time.Time, len(left))
	for i, j := range left {
		e[i] = all[j]
	}
	var kept []int
	for i, k := range p.Keep(e, now) {
		if k {
			kept = append(kept, left[i])
		}
	}
	return kept
}

// without returns the elements of a not in b.
func without(a, b []int) []int {
	var d []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			d = append(d, x)
		}
	}
	return d
}

func ends(all []time.Time, idx []int) string {
	var b strings.Builder
	for _, i := range idx {
		b.WriteString(" " + all[i].Format(time.RFC3339))
	}
	return "[" + b.String() + " ]"
}

// TestKeepDefinition checks Keep against its doc comment, read literally:
// each version compared with every other.
func TestKeepDefinition(t *testing.T) {
	origin := time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)
	bucketOf := func(e time.Time, every time.Duration) time.Duration {
		d := e.Sub(origin)
		q := d / every
		if d%every < 0 {
			q--
		}
		return q
	}
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 0x646566))
		keep := policies[seed%uint64(len(policies))]
		if seed >= uint64(len(policies)) {
			keep = randomPolicy(r)
		}
		p := mustParse(t, keep)
		rules := p.list()
		var all []time.Time
		for range r.IntN(200) {
			all = append(all, now.Add(-time.Duration(r.Int64N(int64(3*year)))+time.Hour).Truncate(time.Minute))
		}
		got := p.Keep(all, now)
		for i, e := range all {
			want := false
			age := max(now.Sub(e), 0)
			k := slices.IndexFunc(rules, func(r rule) bool { return age <= r.span })
			switch {
			case k < 0:
			case rules[k].every == 0:
				want = true
			default:
				for _, r := range rules[k:] {
					later := slices.ContainsFunc(all, func(o time.Time) bool {
						return o.After(e) && bucketOf(o, r.every) == bucketOf(e, r.every)
					})
					want = want || !later
				}
			}
			if got[i] != want {
				t.Fatalf("seed %d, policy %s: version ending %s kept %t, want %t", seed, p, e, got[i], want)
			}
		}
	}
}

// FuzzParseKeep: any string is read without panic, and a policy it reads
// writes itself in a form that reads back as the same policy.
func FuzzParseKeep(f *testing.F) {
	for _, s := range policies {
		f.Add(s)
	}
	for _, s := range []string{" 24H : All , 30D:daily ", "30x:daily", "forever:daily,52w:weekly", "100y:5m", "1d:1440m,2d:1d"} {
		f.Add(s)
	}
	sample := ago(0, time.Hour, day, 40*day, 2*year, -time.Hour)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseKeep(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseKeep(%q): error of more than one line: %q", s, err)
			}
			return
		}
		q, err := ParseKeep(p.String())
		if err != nil || q != p || q.String() != p.String() {
			t.Fatalf("ParseKeep(%q) = %v, which reads back as %v, %v", s, p, q, err)
		}
		p.Keep(sample, now)
	})
}
