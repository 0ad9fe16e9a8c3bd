//! `--config defender_portal`: the user's word on whether the workspace is onboarded to the
//! Defender portal replaces the facts' own decision (the evidence is kept beside it).

use crate::facts::sections::{DecidedBy, DecisionSource, DefenderPortal};
use crate::facts::{FactsDocument, Section, SectionData, SectionName};
use crate::policy::config::PortalMode;
use std::borrow::Cow;

/// The facts as the controls see them: unchanged with `auto`; otherwise with `defender_portal`
/// set as configured. A document without the section (written before it existed) gets one, so
/// old facts can be evaluated deliberately.
pub fn with_config(facts: &FactsDocument, mode: PortalMode) -> Cow<'_, FactsDocument> {
    let (onboarded, word) = match mode {
        PortalMode::Auto => return Cow::Borrowed(facts),
        PortalMode::Onboarded => (true, "onboarded"),
        PortalMode::NotOnboarded => (false, "not-onboarded"),
    };
    let evidence = facts
        .data(SectionName::DefenderPortal)
        .and_then(|v| serde_json::from_value::<DefenderPortal>(v.clone()).ok())
        .map(|d| d.decided_by.evidence)
        .unwrap_or_default();
    let mut facts = facts.clone();
    let decided = DefenderPortal {
        onboarded: Some(onboarded),
        decided_by: DecidedBy {
            source: DecisionSource::Config,
            reason: format!("decided by --config defender_portal: {word}"),
            evidence,
        },
    };
    facts.sections.insert(
        SectionName::DefenderPortal,
        Section::from(SectionData::DefenderPortal(decided)),
    );
    Cow::Owned(facts)
}
