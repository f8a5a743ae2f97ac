//! The conformance results JSON (`conformance::Conformance`, read by `Conformance::read`) and
//! the evidence JSON (`evidence::Evidence`): never a panic; an accepted document writes back
//! to the same value; the engine's own evidence is one result per check.

use locald_spec_core::Evidence;
use locald_spec_core::conformance::{Conformance, own_evidence};

/// The `conformance` fuzz target: panics on a defect.
pub fn conformance(data: &[u8]) {
    if let Ok(c) = serde_json::from_slice::<Conformance>(data) {
        let back: Conformance = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let own = own_evidence(&c);
        let mut names: Vec<_> = own.iter().map(|r| &r.test.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), own.len(), "one result per check");
        for r in &c.results {
            assert!(c.for_requirement(&r.id).count() >= 1);
        }
    }
    if let Ok(e) = serde_json::from_slice::<Evidence>(data) {
        let back: Evidence = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        for t in &e.tests {
            let _ = e.outcome(&t.test);
            let _ = e.sources_of(t);
        }
        let mut merged = e.clone().merge(e.clone());
        merged.extend_latest(e.tests.clone());
    }
}
