// Package history will hold the version history of a folder's files: records
// of the versions that were replaced or deleted, kept so that an earlier state
// can be restored.
//
// For now it holds the retention policy that decides which of those versions
// are kept (see Policy). A policy is written with --keep as comma-separated
// rules SPAN:EVERY, from the newest versions to the oldest:
//
//	24h:all,30d:daily,52w:weekly   the default: every version for a day, then
//	                               one a day for 30 days, one a week for a year
//	24h:all,forever:monthly        every version for a day, then one a month
//	none                           no history
//	forever                        every version, for good
//
// # Buckets
//
// A rule with a bucket length (daily, 6h, …) cuts time into buckets of that
// length on a fixed grid: from Monday 1970-01-05 00:00 UTC, so days start at
// midnight UTC and weeks on Monday. The grid depends only on when a version
// ended, never on when pruning runs, so pruning again later makes the same
// choices. Of the versions that ended in one bucket the latest is kept: it is
// the state at the end of that period.
package history
