// Package tracker is the streaming side of Vigil's SLO engine: it counts
// good and bad events per SLO series in bounded memory and evaluates burn
// rates, error budgets and multiwindow multi-burn-rate alerts from them.
//
// It knows nothing of the collector: the SLO connector classifies each span
// or metric point and calls Record; on a ticker it calls Evaluate and turns
// the statuses into metrics and the transitions into alert events.
//
// # Accounting
//
// Each series (an SLO, or one combination of its GroupBy values) keeps
// rings of time buckets, one ring per resolution. Every burn-rate window of
// slo.BurnRateWindows is read from a ring of at least 120 buckets across
// it, and the error-budget window from a ring of at least 720 (one hour
// for 30 days; a calendar month reaches back 31 days). Windows up to a day
// are read at a minute or finer. All resolutions are whole seconds that
// divide a day (or whole days, for periods of years), so buckets align
// with UTC midnight and calendar windows start on a bucket boundary; a
// window under two minutes (the scaled short windows of SLOs of a few
// days) gets one bucket per second. A 30-day SLO keeps some 3,400 buckets
// per series. Their counts are bit-packed at the
// width the largest count needs (see lane), so a series at one event a
// second takes about 4.7 KiB of buckets and 6 KiB in all
// (BenchmarkActiveSeries100k: 100k such series in under 700 MiB of
// resident memory); at full width, never reached in practice, a series
// would take SeriesBytes, at most 56 KiB for any period. Buckets are
// allocated by a series' first event, so an SLO without traffic costs a
// few hundred bytes.
//
// Bucket k covers (k·res, (k+1)·res]. A window (now-W, now] sums the
// buckets it covers; the one bucket straddling its start counts in
// proportion to its overlap. When now is a whole minute, windows up to a
// day straddle nothing and their counts are exact, which is why a caller
// should evaluate on whole minutes when it can. Otherwise the answer is
// exact for traffic spread evenly within the straddling bucket, and off by
// at most that one bucket's events: at most 1/120 (0.83%) of a steady
// window's events for burn rates (one second's worth for windows under two
// minutes), 1/720 (0.14%) for a rolling budget, nothing for a calendar one.
//
// An event counts in the bucket of its end time if it ended at most
// Options.LateTolerance ago (default 5m); an event ending at most
// Options.FutureTolerance ahead (default 1m) is clock skew and counts as
// ending now. Others are refused, as are events of unknown SLOs, of the
// wrong number of group values and of new groups beyond MaxGroups; every
// refusal is counted by reason in Stats. A GroupBy series with no event in
// its whole budget window and no firing alert is dropped at Evaluate,
// freeing its place.
//
// # Burn rate and budget
//
// The burn rate over a window is (bad/total)/(1-objective), 0 without
// events. The error budget remaining is 1 minus the burn rate over the
// budget window: the rolling period, or the current calendar week or month,
// whose budget is whole again at the period's start. Every window holds
// the events it holds: a series younger than a window (a fresh instance, a
// new SLO) has its burn rate and budget computed from the events since its
// first, as Sloth's and Pyrra's rules compute them from the samples
// Prometheus holds. Status.DataSince says since when, for the wording of the
// budget in alerts and the console (slo.DataSeen).
//
// # Alerts
//
// An alert of a severity fires when, for any of its slo.AlertWindows, the
// burn rate over both the long and the short window exceeds the pair's
// threshold (or reaches it, for a pair with op gte: AlertWindow.Inclusive)
// and the long window holds at least MinEvents events. It
// resolves at the first evaluation where no pair of the severity holds.
// Once the errors stop, each short window falls below its threshold
// within its own length and stays there, so the alert resolves once, soon
// (at most 30m after a burst with the Workbook's page pairs, 6h for the
// ticket), and does not fire again unless errors return at an alerting
// rate. A burn rate hovering right at a threshold could still flap;
// Options.ResolveHoldDown (default none, like Prometheus rules without
// keep_firing_for) keeps the alert firing until the condition has stayed
// false that long.
//
// A table whose rows wait (slo.AlertWindow.For: Pyrra's, an OpenSLO
// alertAfter, a Vigil spec's for:) fires as the Prometheus rules do with
// for:: its condition must hold at every evaluation for that long, with a
// timer per row where the rows wait differently (wait.go). A ticket not
// firing also waits while the page's condition holds, before the page
// fires, as its rule's `unless` on that condition does.
//
// # One problem, one incident
//
// A page covers the ticket of the same series. The ticket's windows are
// longer than the page's, so a burst that pages also raises the ticket's
// condition, which outlives the page by hours: reported as it is, the
// page would resolve and the ticket fire as a second incident for the
// same problem. So a ticket that is not firing when the page fires stays
// quiet while the page fires (AlertStatus.Inhibited) and after it
// resolves (AlertStatus.PagedBurst), until its own condition has been
// false at an evaluation where no page fires: the paged burst is then
// over, and a slow burn that raises the ticket's condition later is a new
// problem, which opens a ticket.
//
// A ticket already firing when the page starts keeps firing and resolves
// through its own condition: it is the incident someone is already
// working on, and resolving it while the problem grows would tell them it
// is over. Routing mutes its notifications while the page fires (the
// inhibit rule of alerts/alertmanager.example.yml), as Alertmanager does
// for an inhibited alert, whose incident also stays open.
//
// The hold is part of the series' state: Snapshot and Restore carry it,
// so a restart does not open the ticket a page covered. Prometheus rules
// (package slo/rules) hold no state between evaluations and cannot
// express it: there the ticket is only inhibited while the page's
// condition holds.
//
// Snapshot and Restore carry counts and alert states across a restart:
// an alert firing at the snapshot is not reported firing again, and its
// resolution still comes. Update applies a reload and keeps the state of
// SLOs whose window, GroupBy and SLI are unchanged.
//
// # Concurrency
//
// A tracker starts no goroutine. Record takes a read lock on the tracker
// and the lock of one SLO, so events of different SLOs are counted in
// parallel; Evaluate, Stats and Snapshot lock one SLO at a time, and
// Update and Restore lock the whole tracker.
//
// RunReplay plays a traffic pattern through a tracker on a SimClock and
// returns the statuses at chosen evaluation times, to compare the tracker
// with Prometheus's recording rules on the same data.
package tracker
