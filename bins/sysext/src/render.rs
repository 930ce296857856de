//! Tables, JSON and log lines in systemd-sysext's shapes.

use keel_exec::sysext::{HierarchyStatus, IgnoreReason, Image, MergeReport, Options, SwapMethod};

use crate::Json;

/// Column names and rows of a table.
pub(crate) type Table = (Vec<&'static str>, Vec<Vec<String>>);

/// Prints `rows` as JSON (an array) or as a table built by `table`.
pub(crate) fn print<T: serde::Serialize>(
    rows: &[T],
    json: Json,
    legend: bool,
    table: fn(&[T]) -> Table,
) -> serde_json::Result<()> {
    match json {
        Json::Short => println!("{}", serde_json::to_string(rows)?),
        Json::Pretty => println!("{}", serde_json::to_string_pretty(rows)?),
        Json::Off => {
            let (head, body) = table(rows);
            let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
            for r in &body {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: Vec<String>| {
                let n = cells.len();
                let mut s = String::new();
                for (i, (c, w)) in cells.into_iter().zip(&widths).enumerate() {
                    if i + 1 == n {
                        s.push_str(&c);
                    } else {
                        s.push_str(&format!("{c:<w$} "));
                    }
                }
                println!("{}", s.trim_end());
            };
            if legend {
                line(head.iter().map(|h| h.to_uppercase()).collect());
            }
            for r in body {
                line(r);
            }
        }
    }
    Ok(())
}

/// `status`: hierarchy, extensions, since.
pub(crate) fn status_table(rows: &[HierarchyStatus]) -> Table {
    let body = rows
        .iter()
        .map(|r| {
            vec![
                r.hierarchy.display().to_string(),
                r.extensions
                    .as_ref()
                    .map_or("none".to_owned(), |l| l.join(" ")),
                r.since_usec.map_or("-".to_owned(), timestamp),
            ]
        })
        .collect();
    (vec!["hierarchy", "extensions", "since"], body)
}

/// `list`: name, type, path, time.
pub(crate) fn list_table(rows: &[Image]) -> Table {
    let body = rows
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.kind.as_str().to_owned(),
                i.path.display().to_string(),
                i.mtime_usec.map_or("-".to_owned(), timestamp),
            ]
        })
        .collect();
    (vec!["name", "type", "path", "time"], body)
}

/// The log lines of `merge`/`refresh`, on standard error as systemd logs them.
pub(crate) fn report(opts: &Options, r: &MergeReport) {
    for i in &r.ignored {
        match i {
            IgnoreReason::Incompatible(e) => eprintln!("Ignoring incompatible extension: {e}."),
            other => eprintln!("Ignoring extension: {other}."),
        }
    }
    if r.used.is_empty() {
        if r.ignored.is_empty() {
            eprintln!("No extensions found.");
        } else {
            eprintln!(
                "No suitable extensions found ({} ignored due to incompatible version).",
                r.ignored.len()
            );
        }
    } else {
        eprintln!("Using extensions '{}'.", r.used.join("', '"));
    }
    let full = |h: &std::path::Path| opts.root.join(h.strip_prefix("/").unwrap_or(h));
    for h in &r.unmerged {
        eprintln!("Unmerged '{}'.", full(h).display());
    }
    for m in &r.merged {
        let how = match m.method {
            SwapMethod::Beneath => " (replaced atomically: mounted beneath, old merge detached)",
            SwapMethod::UnmountThenMount => {
                " (old merge unmounted first: kernel lacks MOVE_MOUNT_BENEATH)"
            }
            _ => "",
        };
        eprintln!(
            "Merged extensions into '{}'{how}.",
            full(&m.hierarchy).display()
        );
    }
}

/// `Wed 2026-11-25 11:06:31 UTC` (always UTC).
fn timestamp(usec: u64) -> String {
    let secs = usec / 1_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd =
        ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][usize::try_from(days % 7).unwrap_or(0)];
    format!(
        "{wd} {y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "Thu 1970-01-01 00:00:00 UTC");
        assert_eq!(
            timestamp(1_795_604_791_974_218),
            "Wed 2026-11-25 11:06:31 UTC"
        );
        assert_eq!(
            timestamp(951_782_400_000_000),
            "Tue 2000-02-29 00:00:00 UTC"
        );
    }
}
