//! `systemd-analyze syscall-filter [@GROUP…]` output.

use std::fmt::Write as _;

use super::groups::{self, GroupError};

/// The text `systemd-analyze syscall-filter` prints for `names` (every group, then the
/// "Ungrouped System Calls" list, when `names` is empty).
///
/// # Errors
/// [`GroupError::NotFound`] for a name that is not a group (248 prints
/// `Filter set "NAME" not found.` and exits 1).
///
/// # Examples
/// ```
/// let text = keel_exec::seccomp::format_groups(&["@swap"])?;
/// assert_eq!(text, "@swap\n    # Enable/disable swap devices\n    swapoff\n    swapon\n");
/// # Ok::<(), keel_exec::seccomp::GroupError>(())
/// ```
#[doc(alias = "syscall-filter")]
pub fn format_groups(names: &[&str]) -> Result<String, GroupError> {
    let mut out = String::new();
    let mut print = |g: groups::Group, first: bool| {
        if !first {
            out.push('\n');
        }
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{}\n    # {}", g.name, g.help);
        for m in g.members {
            let _ = writeln!(out, "    {m}");
        }
    };
    if names.is_empty() {
        for (i, g) in groups::all().enumerate() {
            print(g, i == 0);
        }
        let mut grouped = std::collections::BTreeSet::new();
        for g in groups::GROUPS {
            groups::for_each_member(g.name, &mut |m| {
                grouped.insert(m);
            })?;
        }
        let ungrouped: Vec<&str> = groups::known()
            .iter()
            .copied()
            .filter(|n| !grouped.contains(n))
            .collect();
        if !ungrouped.is_empty() {
            out.push_str(
                "\n# Ungrouped System Calls (known but not included in any of the groups except @known):\n",
            );
            for n in ungrouped {
                let _ = writeln!(out, "#   {n}");
            }
        }
    } else {
        let found: Vec<groups::Group> = names
            .iter()
            .map(|n| groups::find(n))
            .collect::<Result<_, _>>()?;
        for (i, g) in found.into_iter().enumerate() {
            print(g, i == 0);
        }
    }
    Ok(out)
}
