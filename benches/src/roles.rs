//! The role of every row (native, peer, floor), defined once in `benches/roles.csv` for the
//! examples here and for `cargo xtask bench`, which embeds the same file.
//!
//! May touch: nothing (a table and pure functions).

/// `benches/roles.csv`: `group,row,role` lines in the report's table order, `#` comments and
/// one header line (the file's first comment says what each role means).
pub const ROLES_CSV: &str = include_str!("../roles.csv");

/// What a row is to the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A backend or API of ours.
    Native,
    /// A primitive users would otherwise pick.
    Peer,
    /// A lower bound: no second thread, or no stream.
    Floor,
}

/// The role of `row` in `group` as [`ROLES_CSV`] says, with the prefix and suffixes the
/// interleaved example adds (`disturbed/`, `/csw`, `/recovery`) left out; `None` for a row the
/// file does not list.
pub fn role_of(group: &str, row: &str) -> Option<Role> {
    let mut base = group.strip_prefix("disturbed/").unwrap_or(group);
    for suffix in ["/csw", "/recovery"] {
        base = base.strip_suffix(suffix).unwrap_or(base);
    }
    ROLES_CSV
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut fields = l.split(',');
            Some((fields.next()?, fields.next()?, fields.next()?))
        })
        .find(|(g, r, _)| *g == base && *r == row)
        .and_then(|(_, _, role)| match role {
            "native" => Some(Role::Native),
            "peer" => Some(Role::Peer),
            "floor" => Some(Role::Floor),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_has_a_role() {
        let lines: Vec<&str> = ROLES_CSV
            .lines()
            .filter(|l| !l.starts_with('#') && *l != "group,row,role")
            .collect();
        assert!(lines.len() > 50);
        for line in lines {
            let mut fields = line.split(',');
            let (group, row) = (fields.next().unwrap(), fields.next().unwrap());
            assert!(role_of(group, row).is_some(), "{line}");
            assert_eq!(fields.count(), 1, "{line}");
        }
        assert_eq!(role_of("stream_round_trip", "rtrb"), Some(Role::Floor));
        assert_eq!(
            role_of("disturbed/stream_round_trip", "futex"),
            Some(Role::Native)
        );
        assert_eq!(
            role_of("stream_write_slice/csw", "write_slice_vec"),
            Some(Role::Native)
        );
        assert_eq!(role_of("stream_round_trip", "nothing"), None);
    }
}
