//! Every diagnostic code xdrguard shows, one enum per area.
//!
//! The codes are part of what users see (and may grep CI logs for), so they live in one file:
//! the list reads as a catalog and a test proves no two areas hand out the same code.
//! A code's text is its area prefix plus the variant in snake_case (`PolicyCode::DuplicateId`
//! is `xdrguard::policy::duplicate_id`).

use strum::{IntoStaticStr, VariantArray};

/// Reading files and the environment, before any document kind is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::input::", serialize_all = "snake_case")]
pub enum InputCode {
    Io,
    TooLarge,
    Encoding,
    /// `XDRGUARD_NOW` is not an RFC 3339 time.
    Now,
    OutputDir,
    /// One of xdrguard's own files given where another kind was wanted.
    WrongKind,
    #[strum(serialize = "yaml::parser")]
    YamlParser,
    #[strum(serialize = "yaml::syntax")]
    YamlSyntax,
    #[strum(serialize = "yaml::too_deep")]
    YamlTooDeep,
}

/// A facts document (`check --facts`, policy-test bases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::facts::", serialize_all = "snake_case")]
pub enum FactsCode {
    Json,
    Schema,
    Shape,
}

/// A policy file and the catalog it joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::policy::", serialize_all = "snake_case")]
pub enum PolicyCode {
    Schema,
    Shape,
    Expression,
    ParamType,
    UnknownSection,
    UndeclaredRead,
    Template,
    /// A command step writes a value without its shell's quoting filter (`| sh`, `| ps`).
    UnquotedValue,
    DuplicateId,
    UnknownDependency,
    SharedParam,
    DependencyCycle,
}

/// The user's configuration (`--config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::policy::config::", serialize_all = "snake_case")]
pub enum ConfigCode {
    Schema,
    Shape,
    UnknownControl,
    UnknownParam,
    SharedParam,
    ParamType,
}

/// An exceptions (waivers) file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(
    prefix = "xdrguard::outcome::exceptions::",
    serialize_all = "snake_case"
)]
pub enum ExceptionsCode {
    Schema,
    Shape,
    UnknownControl,
    Date,
    Duplicate,
}

/// A policy-test file (`xdrguard test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::test::", serialize_all = "snake_case")]
pub enum TestCode {
    /// The folder holds no test files.
    None,
    Ops,
    Schema,
    Shape,
    UnknownControl,
    UnknownParam,
}

/// A JSON report read back (`--baseline`, `diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::report::", serialize_all = "snake_case")]
pub enum ReportCode {
    Json,
    Schema,
    Shape,
}

/// Setting up collection (endpoints, runtime, HTTP client) and checking what it produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::collect::", serialize_all = "snake_case")]
pub enum CollectCode {
    Http,
    /// The collected facts fail their own schema: our bug.
    Internal,
    Runtime,
    /// No credential could sign in.
    SignIn,
    /// A token or secret too short to scrub from outputs.
    ShortSecret,
    Url,
}

/// `xdrguard lint` on a file it checks by schema only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::lint::", serialize_all = "snake_case")]
pub enum LintCode {
    Schema,
}

/// Sentinel content read by `xdrguard scan` (ARM templates, parameters files, YAML rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::content::", serialize_all = "snake_case")]
pub enum ContentCode {
    /// A content file over `--max-file-size`, or more files than `--max-files`.
    TooLarge,
    Json,
    TooDeep,
    DuplicateKey,
    /// A deploymentTemplate whose structure is not ARM's.
    Template,
    Parameters,
    Yaml,
    /// A YAML analytics rule with a wrongly typed field.
    Rule,
    /// No content found, or `--changed-from` could not list the changed files.
    Selection,
}

/// A fleet file (`xdrguard fleet`) and the reports `xdrguard merge` combines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::fleet::", serialize_all = "snake_case")]
pub enum FleetCode {
    Schema,
    Shape,
    DuplicateName,
    Workspace,
    Url,
    /// A target's sign-in keys that do not make one credential.
    Credentials,
    /// `--shard I/N` (or `JOB_COMPLETION_INDEX`) that names no shard.
    Shard,
    /// `merge` given the same target twice.
    DuplicateTarget,
    /// `merge` given reports of different catalogs.
    MixedCatalog,
    /// `merge` given nothing to merge.
    Empty,
}

/// Command-line arguments that name something that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, VariantArray)]
#[strum(prefix = "xdrguard::usage::", serialize_all = "snake_case")]
pub enum UsageCode {
    UnknownControl,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn all() -> Vec<&'static str> {
        fn texts<T: Copy + Into<&'static str>>(v: &[T]) -> Vec<&'static str> {
            v.iter().map(|&c| c.into()).collect()
        }
        [
            texts(InputCode::VARIANTS),
            texts(FactsCode::VARIANTS),
            texts(PolicyCode::VARIANTS),
            texts(ConfigCode::VARIANTS),
            texts(ExceptionsCode::VARIANTS),
            texts(TestCode::VARIANTS),
            texts(ReportCode::VARIANTS),
            texts(CollectCode::VARIANTS),
            texts(LintCode::VARIANTS),
            texts(ContentCode::VARIANTS),
            texts(UsageCode::VARIANTS),
            texts(FleetCode::VARIANTS),
        ]
        .concat()
    }

    #[test]
    fn codes_are_unique() {
        let codes = all();
        let unique: BTreeSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len(), "a code is used twice: {codes:?}");
    }

    #[test]
    fn codes_are_namespaced_snake_case() {
        for code in all() {
            let rest = code
                .strip_prefix("xdrguard::")
                .unwrap_or_else(|| panic!("{code}"));
            assert!(
                rest.split("::")
                    .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                "{code}"
            );
        }
    }

    /// The codes users already see (exactly the ones before they became enums).
    #[test]
    fn texts_are_the_published_ones() {
        let published =
            "content::too_large content::json content::too_deep content::duplicate_key \
            content::template content::parameters content::yaml content::rule content::selection \
            collect::http collect::internal collect::runtime collect::short_secret collect::sign_in collect::url \
            facts::json facts::schema facts::shape input::encoding input::io input::now \
            input::output_dir input::too_large input::wrong_kind input::yaml::parser input::yaml::syntax \
            input::yaml::too_deep lint::schema outcome::exceptions::date \
            outcome::exceptions::duplicate outcome::exceptions::schema \
            outcome::exceptions::shape outcome::exceptions::unknown_control \
            policy::config::param_type policy::config::schema policy::config::shape \
            policy::config::shared_param policy::config::unknown_control \
            policy::config::unknown_param policy::dependency_cycle policy::duplicate_id \
            policy::expression policy::param_type policy::schema policy::shape \
            policy::shared_param policy::template policy::undeclared_read \
            policy::unknown_dependency policy::unknown_section policy::unquoted_value report::json report::schema \
            report::shape test::none test::ops test::schema test::shape \
            test::unknown_control test::unknown_param usage::unknown_control \
            fleet::schema fleet::shape fleet::duplicate_name fleet::workspace fleet::url \
            fleet::credentials fleet::shard fleet::duplicate_target fleet::mixed_catalog fleet::empty";
        let want: BTreeSet<String> = published
            .split_whitespace()
            .map(|c| format!("xdrguard::{c}"))
            .collect();
        let got: BTreeSet<String> = all().into_iter().map(String::from).collect();
        assert_eq!(got, want);
    }
}
