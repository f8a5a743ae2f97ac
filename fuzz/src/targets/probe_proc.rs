//! The probe's other readers, one input cut into parts: `/proc/self/status` and its capability
//! masks, uid and gid maps, `/proc/net/dev`, `/etc/passwd`, `/etc/group`, `/etc/hosts` and
//! `/etc/resolv.conf`. Never a panic; capability masks and id maps print and read back.

use locald_probe::parse::*;

/// The `probe_proc` fuzz target: panics on a defect.
pub fn probe_proc(data: &[u8]) {
    let Some(p) = crate::parts(data, 7) else {
        return;
    };
    let status = parse_status(p[0]);
    for (k, v) in &status {
        assert_eq!(k.trim(), k);
        assert_eq!(v.trim(), v);
        if let Some(mask) = cap_mask(v) {
            let names = cap_names(mask);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let known = (1u64 << CAP_NAMES.len()) - 1;
            assert_eq!(caps_to_mask(&refs), mask & known, "{v}");
        }
    }
    let map = parse_id_map(p[1]);
    let text: String = map
        .iter()
        .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
        .collect();
    assert_eq!(parse_id_map(&text), map);
    let _ = is_identity_map(&map);
    let _ = parse_net_dev(p[2]);
    for e in parse_passwd(p[3]) {
        assert!(!e.name.contains(':'));
    }
    for g in parse_group(p[4]) {
        assert!(!g.members.iter().any(|m| m.is_empty() || m.contains(',')));
    }
    let hosts = parse_hosts(p[5]);
    for h in &hosts {
        assert!(!h.names.is_empty());
        for n in &h.names {
            assert!(!n.is_empty() && !n.contains(['#', ' ', '\t', '\n']));
            assert!(hosts_lookup(&hosts, n).contains(&h.address));
        }
    }
    let rc = parse_resolv_conf(p[6]);
    if let Some(s) = &rc.search {
        assert!(!s.is_empty());
    }
}
