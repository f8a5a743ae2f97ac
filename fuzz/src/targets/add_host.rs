//! `--add-host NAME:IP` (`ExtraHost: FromStr`): an accepted value prints back to itself, and
//! reaches `/etc/hosts` as exactly one record the probe finds; a refused one is named.

use locald_engine::names::{hosts_file, valid_hostname};
use locald_engine::{ExtraHost, NetworkMode};

/// The `add_host` fuzz target: panics on a defect.
pub fn add_host(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let h: ExtraHost = match s.parse() {
        Ok(h) => h,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("{s:?}")), "{msg}");
            return;
        }
    };
    assert!(!h.name.contains(':'));
    let again: ExtraHost = format!("{}:{}", h.name, h.ip).parse().unwrap();
    assert_eq!(again, h);
    match hosts_file("c1", std::slice::from_ref(&h), NetworkMode::Private, None) {
        Ok(text) => {
            assert!(valid_hostname(&h.name));
            let entries = locald_probe::parse::parse_hosts(&text);
            let extra: Vec<_> = entries
                .iter()
                .filter(|e| e.names == [h.name.clone()])
                .collect();
            assert!(extra.iter().any(|e| e.address == h.ip), "{text}");
            assert_eq!(
                text.lines().count(),
                1 + 6 + 2 + 1,
                "one line added: {text}"
            );
        }
        Err(e) => {
            assert!(!valid_hostname(&h.name));
            assert!(e.to_string().contains("extra_hosts"));
        }
    }
}
