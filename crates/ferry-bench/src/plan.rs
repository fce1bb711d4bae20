//! Which scenarios to run (`--only`).

/// The scenarios picked by `--only` patterns. Every row has an id of the
/// form `key` or `key:part`; the key names its scenario (all of its rows
/// run and are shown together, e.g. a rate and its CPU row).
pub(crate) struct Plan {
    picked: Option<Vec<String>>,
}

/// The scenario key of a row id.
pub(crate) fn key(id: &str) -> &str {
    id.split(':').next().unwrap_or(id)
}

impl Plan {
    /// `patterns` as given to `--only`; `rows` is every row's (id, title).
    /// A pattern equal to a scenario key picks that scenario; any other
    /// picks the scenarios with a row title containing it (both ignoring
    /// case). A pattern that picks nothing is an error that lists the keys.
    pub(crate) fn new(patterns: &[String], rows: &[(&str, &str)]) -> anyhow::Result<Plan> {
        if patterns.is_empty() {
            return Ok(Plan { picked: None });
        }
        let mut keys: Vec<&str> = Vec::new();
        for (id, _) in rows {
            if !keys.contains(&key(id)) {
                keys.push(key(id));
            }
        }
        let mut picked: Vec<String> = Vec::new();
        for p in patterns {
            let p = p.to_lowercase();
            let hits: Vec<String> = if keys.contains(&p.as_str()) {
                vec![p.clone()]
            } else {
                rows.iter().filter(|(_, title)| title.to_lowercase().contains(&p)).map(|(id, _)| key(id).to_owned()).collect()
            };
            if hits.is_empty() {
                anyhow::bail!("--only {p}: no scenario key or row title matches; keys: {}", keys.join(", "));
            }
            picked.extend(hits);
        }
        picked.sort();
        picked.dedup();
        Ok(Plan { picked: Some(picked) })
    }

    /// Whether the scenario with this key (or the row with this id) runs.
    pub(crate) fn wants(&self, id: &str) -> bool {
        self.picked.as_ref().is_none_or(|p| p.iter().any(|k| k == key(id)))
    }
}
