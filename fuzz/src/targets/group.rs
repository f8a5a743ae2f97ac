//! /etc/group: `parse_group` on any text; an accepted file's generated copy keeps the image's
//! text byte for byte, parses back to the entries it was made from plus at most the added one,
//! and the probe sees the same entries.

use locald_engine::identity::{GROUP_PATH, Identity, IdentityFiles, generate_files, parse_group};

/// The `group` fuzz target: panics on a defect.
pub fn group(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let entries = match parse_group(text, GROUP_PATH) {
        Ok(e) => e,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(GROUP_PATH), "{msg}");
            return;
        }
    };
    let mut gids = vec![0, crate::pick(data) % 100_000];
    gids.extend(entries.last().map(|e| e.gid));
    for gid in gids {
        let id = Identity {
            uid: 0,
            gid,
            additional_gids: vec![],
            home: None,
        };
        let files = IdentityFiles {
            passwd: None,
            group: Some(text.to_owned()),
        };
        let out = generate_files(&files, &id).expect("an accepted group file generates");
        assert!(
            out.group.starts_with(text),
            "the image's lines survive byte for byte"
        );
        let back = parse_group(&out.group, GROUP_PATH).expect("the generated group parses");
        if out.added_group {
            assert_eq!(back.len(), entries.len() + 1, "{:?}", out.group);
            assert_eq!(&back[..entries.len()], &entries[..], "{:?}", out.group);
            let added = back.last().unwrap();
            assert_eq!(added.gid, gid);
            assert!(added.members.is_empty());
            assert!(
                !entries.iter().any(|e| e.name == added.name),
                "a fresh name"
            );
        } else {
            assert_eq!(back, entries);
        }
        let seen: Vec<_> = locald_probe::parse::parse_group(&out.group)
            .into_iter()
            .map(|e| (e.name, e.gid, e.members))
            .collect();
        let meant: Vec<_> = back
            .into_iter()
            .map(|e| (e.name, e.gid, e.members))
            .collect();
        assert_eq!(seen, meant, "the probe reads {:?} differently", out.group);
    }
}
