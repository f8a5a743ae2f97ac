//! /etc/passwd: `parse_passwd` on any text; an accepted file's generated copy keeps the image's
//! text byte for byte, parses back to the entries it was made from plus at most the added one,
//! and the probe (which reads it inside the container) sees the same entries.

use locald_engine::identity::{
    ADDED_HOME, Identity, IdentityFiles, PASSWD_PATH, generate_files, parse_passwd,
};

/// The `passwd` fuzz target: panics on a defect.
pub fn passwd(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let entries = match parse_passwd(text, PASSWD_PATH) {
        Ok(e) => e,
        Err(e) => {
            // A refusal names the file and a line of it.
            let msg = e.to_string();
            assert!(msg.contains(PASSWD_PATH), "{msg}");
            return;
        }
    };
    // The running uid: one the image has, one it lacks, 0, and one taken from the input.
    let mut uids = vec![0, crate::pick(data) % 100_000, 4_294_967_294];
    uids.extend(entries.first().map(|e| e.uid));
    for uid in uids {
        let id = Identity {
            uid,
            gid: uid % 7,
            additional_gids: vec![],
            home: None,
        };
        let files = IdentityFiles {
            passwd: Some(text.to_owned()),
            group: None,
        };
        let out = generate_files(&files, &id).expect("an accepted passwd generates");
        assert!(
            out.passwd.starts_with(text),
            "the image's lines survive byte for byte"
        );
        let back = parse_passwd(&out.passwd, PASSWD_PATH).expect("the generated passwd parses");
        if out.added_user {
            assert!(!entries.iter().any(|e| e.uid == uid));
            assert_eq!(back.len(), entries.len() + 1, "{:?}", out.passwd);
            assert_eq!(&back[..entries.len()], &entries[..], "{:?}", out.passwd);
            let added = back.last().unwrap();
            assert_eq!((added.uid, added.gid), (id.uid, id.gid));
            assert_eq!(added.home, ADDED_HOME);
            assert!(
                !entries.iter().any(|e| e.name == added.name),
                "a fresh name"
            );
        } else {
            assert!(entries.iter().any(|e| e.uid == uid));
            assert_eq!(back, entries);
        }
        // What the probe reads inside the container.
        let seen: Vec<_> = locald_probe::parse::parse_passwd(&out.passwd)
            .into_iter()
            .map(|e| (e.name, e.uid, e.gid, e.home))
            .collect();
        let meant: Vec<_> = back
            .into_iter()
            .map(|e| (e.name, e.uid, e.gid, e.home))
            .collect();
        assert_eq!(seen, meant, "the probe reads {:?} differently", out.passwd);
    }
}
