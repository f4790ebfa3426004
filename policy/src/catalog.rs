//! The template catalog of zkq's policy marketplace: curated Cedar templates a tenant's policy
//! is rendered from (`zkq policy add --template <id>[@<version>] k=v …`).
//!
//! Each template is one file, `policy/catalog/<id>.toml` (older versions kept as
//! `<id>@<version>.toml`), embedded at compile time ([`files::FILES`], checked against the
//! directory by a test). [`Catalog::builtin`] parses and checks the whole catalog: each file
//! ([`TemplateSpec::parse`]: semver, typed defaults, placeholders ⇔ parameters, caps, examples)
//! and the set (unique `id@version`). [`TemplateSpec::render`] makes one static Cedar policy for a
//! tenant, parameters typed and escaped ([`param`]). Titles, descriptions and the reasons shown
//! to end users live in the `"templates"` section of `policy/i18n/{en,es}.json`;
//! [`Catalog::markdown`] writes the catalog page, `docs/policy-catalog.md`.
//!
//! Why rendered static policies rather than Cedar template links: zkq's parameters are typed
//! values inside conditions (sets, numbers), while Cedar's slots only bind the principal and
//! resource (<https://docs.cedarpolicy.com/policies/templates.html>); a static policy also carries
//! its own `@template`, `@template_version` and `@p_<param>` annotations, so a stored policy says
//! where it came from.

pub mod files;
mod page;
pub mod param;
pub mod spec;

use std::collections::BTreeSet;

pub use param::{ParamType, Value};
pub use spec::{Example, ParamSpec, Rendered, RequestOverrides, TemplateEffect, TemplateSpec, EXAMPLE_TENANT};

use crate::PolicyError;

/// The checked catalog: templates sorted by id, then version (oldest first).
#[derive(Debug, Clone)]
pub struct Catalog {
    templates: Vec<TemplateSpec>,
}

impl Catalog {
    /// The catalog embedded in this build (`policy/catalog/*.toml`), checked.
    pub fn builtin() -> Result<Catalog, PolicyError> {
        Catalog::from_files(files::FILES)
    }

    /// A catalog from `(file name, TOML text)` pairs, checked: each template, and that no
    /// `id@version` appears twice.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Catalog, PolicyError> {
        let mut templates = Vec::with_capacity(files.len());
        let mut keys = BTreeSet::new();
        for (file, text) in files {
            let spec = TemplateSpec::parse(file, text)?;
            if !keys.insert((spec.id.clone(), spec.semver().clone())) {
                return Err(PolicyError::Catalog {
                    file: (*file).to_owned(),
                    why: format!("{} appears twice", spec.key()),
                });
            }
            templates.push(spec);
        }
        templates.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.semver().cmp(b.semver())));
        Ok(Catalog { templates })
    }

    /// Every template (every version), sorted by id, then version.
    pub fn templates(&self) -> &[TemplateSpec] {
        &self.templates
    }

    /// The newest version of each template, sorted by id.
    pub fn latest(&self) -> Vec<&TemplateSpec> {
        let mut out: Vec<&TemplateSpec> = Vec::new();
        for t in &self.templates {
            match out.last_mut() {
                Some(last) if last.id == t.id => *last = t,
                _ => out.push(t),
            }
        }
        out
    }

    /// A template by id and version. `id` may be `id@version`; `version` is an exact version
    /// (`1.0.0`) or a semver requirement (`1`, `~1.0`, `>=1.1`), the newest match answering;
    /// `None` is the newest version.
    pub fn get(&self, id: &str, version: Option<&str>) -> Result<&TemplateSpec, PolicyError> {
        let (id, version) = match (id.split_once('@'), version) {
            (Some((_, v1)), Some(v2)) if v1 != v2 => {
                return Err(PolicyError::Template(format!(
                    "{id}: version {v2} given as well as @{v1}"
                )))
            }
            (Some((id, v)), _) => (id, Some(v)),
            (None, v) => (id, v),
        };
        let versions: Vec<&TemplateSpec> = self.templates.iter().filter(|t| t.id == id).collect();
        if versions.is_empty() {
            return Err(PolicyError::Template(format!(
                "{id}: not in the catalog ({} templates)",
                self.latest().len()
            )));
        }
        let Some(version) = version else {
            return versions
                .last()
                .copied()
                .ok_or_else(|| PolicyError::Template(format!("{id}: no version")));
        };
        let listed = || {
            versions
                .iter()
                .map(|t| t.version.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let found = if let Ok(exact) = semver::Version::parse(version) {
            versions.iter().rev().find(|t| *t.semver() == exact)
        } else {
            let req = semver::VersionReq::parse(version)
                .map_err(|e| PolicyError::Template(format!("{id}@{version}: not a version or requirement: {e}")))?;
            versions.iter().rev().find(|t| req.matches(t.semver()))
        };
        found
            .copied()
            .ok_or_else(|| PolicyError::Template(format!("{id}@{version}: no such version (have {})", listed())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_loads_with_enough_templates() {
        let c = Catalog::builtin().expect("catalog");
        assert!(c.latest().len() >= 32, "{} templates", c.latest().len());
        assert!(
            c.templates()
                .iter()
                .all(|t| t.params.iter().all(|p| p.default.is_some())),
            "builtins have defaults"
        );
    }

    #[test]
    fn get_takes_id_at_version_requirements_and_defaults_to_the_newest() {
        let c = Catalog::builtin().expect("catalog");
        assert_eq!(c.get("rate-limit", None).expect("newest").version, "1.1.0");
        assert_eq!(c.get("rate-limit@1.0.0", None).expect("exact").version, "1.0.0");
        assert_eq!(c.get("rate-limit", Some("1.0.0")).expect("exact").version, "1.0.0");
        assert_eq!(c.get("rate-limit", Some("~1.0")).expect("req").version, "1.0.0");
        assert_eq!(c.get("rate-limit", Some("1")).expect("req").version, "1.1.0");
        let e = c.get("rate-limit", Some("2.0.0")).expect_err("none").to_string();
        assert_eq!(e, "template rate-limit@2.0.0: no such version (have 1.0.0, 1.1.0)");
        assert!(c
            .get("no-such", None)
            .expect_err("none")
            .to_string()
            .contains("no-such: not in the catalog"));
        assert!(c.get("rate-limit@1.0.0", Some("1.1.0")).is_err());
    }

    #[test]
    fn a_duplicate_version_is_refused() {
        let (name, text) = files::FILES[0];
        let e = Catalog::from_files(&[(name, text), (name, text)])
            .expect_err("dup")
            .to_string();
        assert!(e.contains("appears twice"), "{e}");
    }
}
