// Package watch turns filesystem events under a folder into debounced,
// coalesced lists of subtrees to scan.
//
// [Watch] watches a folder recursively (through fanotify or inotify on
// Linux, see Backends, and through github.com/syncthing/notify elsewhere)
// and hands its caller [Batch]es: folder-relative, slash-separated names,
// each naming a subtree the caller should scan recursively. A batch is
// minimal (no name inside another) and sorted; [""] means the whole folder.
//
// The first batch, sent as soon as the watch is in place, is always [""]:
// nothing before that moment was seen, so the caller scans everything.
//
// # What a name means
//
// Every event reports the name it happened to, whatever its kind:
//
//   - create and rename-to: the new name, scanned recursively, because
//     notify sends no events for entries made inside a directory before its
//     watch was added (a tree "a/b/c/file" created at once may show up as
//     just "a"), and reports a rename as a create plus a rename, sometimes
//     twice (fanotify reports every entry, but a directory moved in from
//     outside the folder arrives as one name);
//   - remove and rename-from: the name itself, not its parent. Scanning a
//     name that no longer exists tells the caller it is gone, together with
//     everything below it; scanning the parent would do the same at a
//     higher cost (a top-level delete would rescan the whole folder);
//   - write and, on Linux, attribute changes (permissions, times): the name.
//
// Left out entirely: names with a component that is one of ferry's own
// (".ferry", ".ferry-tmp-*", see proto.IsInternalName), so ferry's own
// writes never cause scans, and names proto.ValidName refuses, which a scan
// would skip anyway. A name whose only fault is not being in Unicode NFC
// yields its nearest valid ancestor instead: a scan there renames it to
// NFC (see platform.Folder.Walk). Events on the folder root itself are
// ignored, except its removal or move, which ends the watch (see below).
//
// # Debounce and coalescing
//
// A batch is delivered when no event arrived for [Options.Debounce], or when
// [Options.MaxDelay] has passed since its first event, so a tree that stays
// busy is still scanned regularly. Events inside a name that is already
// pending add nothing. When a batch holds more than [Options.MaxPaths]
// names, the deepest names are replaced by their parent directories, level
// by level, until it fits; that can end at the whole folder. Pending names
// never exceed 4*MaxPaths: past that the same collapse runs at once, so a
// burst of any size costs bounded memory and arrives as a few batches.
//
// The callback runs on its own goroutine, one batch at a time. While it
// runs, events keep being collected, so a slow caller gets fewer, larger
// batches and events are not lost to a full queue.
//
// # Backends
//
// Watch uses inotify through notify, as it does when built for other
// systems. On Linux, when a folder has more directories than inotify may
// watch even after the limit is raised (see below), it uses fanotify
// instead: a group made with FAN_REPORT_DFID_NAME and a
// FAN_MARK_FILESYSTEM mark on the folder's filesystem. That needs Linux 5.9
// or later, CAP_SYS_ADMIN (in practice, running as root), a filesystem
// that reports file handles and takes filesystem marks (not, for example,
// some FUSE and network filesystems, btrfs subvolumes or overlayfs), no
// other filesystem mounted inside the folder (the mark would not see into
// it), and a free fanotify group (one per watched folder;
// fs.fanotify.max_user_groups, 128 by default). fanotify is not the first
// choice: its mark sees every change on the whole filesystem, by any
// process, and each one costs the writer a file handle and the daemon a
// lookup; an initial sync of 1 GiB between two daemons on one filesystem
// took 25-35 % longer and 40 % more CPU with it than with inotify.
//
// fanotify needs no per-directory state, so it watches a folder of any
// size, including directories made after the watch started, at once. Each
// event names a directory by file handle plus an entry name; the handle is
// opened (open_by_handle_at) and its path read from /proc/self/fd, through
// a small cache of directory paths that is emptied whenever a directory
// anywhere on the filesystem is renamed or removed, and whenever events
// were lost. Events outside the folder, which the filesystem mark sees
// too, are dropped after that lookup, as are ferry's own names. A
// directory removed before its event is read is skipped: its removal
// arrives in its parent. The watch holds the folder root open, so the
// filesystem cannot be unmounted while it runs. Moving a directory above
// the root ends the watch like moving the root. Busy activity elsewhere on
// the same filesystem costs a cached lookup per event and can overflow the
// group's queue (fs.fanotify.max_queued_events, 16,384 by default), which
// reports lost events for this folder as well.
//
// inotify needs one watch per directory (fs.inotify.max_user_watches),
// added by notify as it walks the tree at start and as directories appear,
// and notify keeps a node per directory in memory. When adding a watch
// fails on the limit and the process runs as root, Watch raises the limit
// (to at least twice its value, or by twice the folder's number of
// directories, up to 16M; never lowering it), logs it, and tries once
// more; otherwise the error names the sysctl and the number of
// directories.
//
// # Lost events
//
// A batch with [Batch.Overflow] set (and Paths [""]) says events may have
// been lost and the caller should scan everything. Both backends drop an
// event when the receiving channel is full and say nothing; Watch sees
// that the channel was full when it next receives, and reports an
// overflow. fanotify also reports the kernel's own queue overflow
// (FAN_Q_OVERFLOW) and any record it cannot parse as lost events.
//
// Not detectable with inotify, and left to the periodic full scan:
//   - the kernel's own inotify queue overflow (IN_Q_OVERFLOW): notify
//     v0.0.0-20250528144937-c7027d4f7465 discards that event in its inotify
//     backend (watcher_inotify.go, transform). notify reads the kernel
//     queue continuously and hands each event to a goroutine of its own, so
//     that queue (fs.inotify.max_queued_events) overflows only when the
//     machine cannot run notify's reader at all;
//   - a watch notify fails to add for a directory created later (for
//     example when fs.inotify.max_user_watches is reached mid-run): notify
//     only logs it in debug builds.
//
// Not detectable with fanotify: changes in a directory whose path cannot
// be read (longer than PATH_MAX), and, as with inotify, changes that other
// machines make to a network filesystem.
//
// If the folder root itself is removed or moved, or the fanotify group
// cannot be read, Watch delivers an overflow batch and returns an error:
// the watch is dead and the caller falls back to periodic scans.
package watch
