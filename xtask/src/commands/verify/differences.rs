//! What differs between a blob in the registry and the one this checkout rebuilt, in words: for a
//! layer, its files (the binary's bytes, from which byte on) and their tar headers; for a JSON
//! document (config, manifest, index), the fields. Pure: bytes in, one phrase out.

use serde_json::Value;

use crate::oci::layer::{self, Entry};

/// How many differing fields a phrase names before it says how many more there are.
const MOST_FIELDS: usize = 3;
/// The longest value a phrase quotes.
const MOST_VALUE_CHARS: usize = 80;

/// Why two gzip-compressed layers differ.
pub(super) fn layers(registry: &[u8], rebuilt: &[u8]) -> String {
    let (registry, rebuilt) = match (layer::read(registry), layer::read(rebuilt)) {
        (Err(error), _) => return format!("the registry's layer cannot be read ({error:#})"),
        (_, Err(error)) => return format!("the rebuilt layer cannot be read ({error:#})"),
        (Ok(registry), Ok(rebuilt)) => (registry, rebuilt),
    };
    let ((registry_entries, registry_tar), (rebuilt_entries, rebuilt_tar)) = (registry, rebuilt);
    if registry_tar == rebuilt_tar {
        return format!(
            "the same tar (diff ID {registry_tar}), compressed differently: another gzip \
             implementation or level"
        );
    }
    if registry_entries.len() != rebuilt_entries.len() {
        return format!(
            "the registry's layer holds {} files, the rebuilt one {}",
            registry_entries.len(),
            rebuilt_entries.len()
        );
    }
    for (theirs, ours) in registry_entries.iter().zip(&rebuilt_entries) {
        if let Some(difference) = entries(theirs, ours) {
            return difference;
        }
    }
    "the tars differ outside their files' headers and contents (padding, or the end blocks)"
        .to_string()
}

/// Why two entries of the same place in two layers differ, if they do.
fn entries(registry: &Entry, rebuilt: &Entry) -> Option<String> {
    let name = format!("/{}", registry.path.trim_start_matches("./"));
    if registry.path != rebuilt.path {
        return Some(format!(
            "the registry's layer holds `{name}` where the rebuilt one holds `/{}`",
            rebuilt.path
        ));
    }
    if registry.data != rebuilt.data {
        let offset = registry
            .data
            .iter()
            .zip(&rebuilt.data)
            .position(|(a, b)| a != b)
            .unwrap_or(registry.data.len().min(rebuilt.data.len()));
        return Some(format!(
            "the binary's bytes differ: {name} differs from byte {offset} ({offset:#x}) on \
             (registry {} bytes, rebuilt {} bytes)",
            registry.data.len(),
            rebuilt.data.len()
        ));
    }
    let fields = [
        (
            "mode",
            format!("{:#o}", registry.mode),
            format!("{:#o}", rebuilt.mode),
        ),
        ("uid", registry.uid.to_string(), rebuilt.uid.to_string()),
        ("gid", registry.gid.to_string(), rebuilt.gid.to_string()),
        (
            "mtime",
            registry.mtime.to_string(),
            rebuilt.mtime.to_string(),
        ),
    ];
    let differing: Vec<String> = fields
        .iter()
        .filter(|(_, theirs, ours)| theirs != ours)
        .map(|(field, theirs, ours)| format!("{field} {theirs} in the registry, {ours} rebuilt"))
        .collect();
    (!differing.is_empty()).then(|| {
        format!(
            "{name} is the same bytes; its tar header differs: {}",
            differing.join(", ")
        )
    })
}

/// Which fields of two JSON documents differ, `a.b.0.c` paths with both values.
pub(super) fn documents(registry: &[u8], rebuilt: &[u8]) -> String {
    let parse = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes);
    let (registry, rebuilt) = match (parse(registry), parse(rebuilt)) {
        (Ok(registry), Ok(rebuilt)) => (registry, rebuilt),
        _ => return "the registry's document is not JSON".to_string(),
    };
    let mut found = Vec::new();
    walk("", &registry, &rebuilt, &mut found);
    match found.len() {
        0 => "the same fields and values, serialised differently (order or spacing)".to_string(),
        count => {
            let mut phrase = found[..count.min(MOST_FIELDS)].join("; ");
            if count > MOST_FIELDS {
                phrase += &format!("; and {} more", count - MOST_FIELDS);
            }
            phrase
        }
    }
}

/// Appends a phrase for every leaf where `registry` and `rebuilt` differ below `path`.
fn walk(path: &str, registry: &Value, rebuilt: &Value, found: &mut Vec<String>) {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (registry, rebuilt) {
        (Value::Object(theirs), Value::Object(ours)) => {
            let mut keys: Vec<&String> = theirs.keys().chain(ours.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let missing = Value::Null;
                walk(
                    &child(key),
                    theirs.get(key).unwrap_or(&missing),
                    ours.get(key).unwrap_or(&missing),
                    found,
                );
            }
        }
        (Value::Array(theirs), Value::Array(ours)) if theirs.len() == ours.len() => {
            for (at, (theirs, ours)) in theirs.iter().zip(ours).enumerate() {
                walk(&child(&at.to_string()), theirs, ours, found);
            }
        }
        (theirs, ours) if theirs != ours => found.push(format!(
            "`{path}`: {} in the registry, {} rebuilt",
            shown(theirs),
            shown(ours)
        )),
        _ => {}
    }
}

/// A value as a phrase quotes it: JSON, shortened; an absent field as `absent`.
fn shown(value: &Value) -> String {
    if value.is_null() {
        return "absent".to_string();
    }
    let text = value.to_string();
    match text.char_indices().nth(MOST_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::{documents, layers};
    use crate::oci::definition::File;
    use crate::oci::layer::build;

    fn file() -> File {
        File {
            path: "/pause".to_string(),
            mode: 0o755,
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn a_layer_difference_names_the_byte_or_the_header_field() {
        let ours = build(&file(), b"\x7fELF one", 0).unwrap().blob.data;
        let flipped = build(&file(), b"\x7fELF onE", 0).unwrap().blob.data;
        let phrase = layers(&flipped, &ours);
        assert!(
            phrase.contains("binary's bytes") && phrase.contains("from byte 7 (0x7)"),
            "{phrase}"
        );
        let later = build(&file(), b"\x7fELF one", 1_700_000_000)
            .unwrap()
            .blob
            .data;
        let phrase = layers(&later, &ours);
        assert!(
            phrase.contains("same bytes") && phrase.contains("mtime 1700000000 in the registry, 0"),
            "{phrase}"
        );
    }

    #[test]
    fn a_document_difference_names_the_fields() {
        let phrase = documents(
            br#"{"a":{"rev":"x"},"b":[1,2],"c":1}"#,
            br#"{"a":{"rev":"y"},"b":[1,3],"c":1,"d":true}"#,
        );
        assert_eq!(
            phrase,
            "`a.rev`: \"x\" in the registry, \"y\" rebuilt; `b.1`: 2 in the registry, 3 rebuilt; \
             `d`: absent in the registry, true rebuilt"
        );
        assert!(documents(br#"{"a":1, "b":2}"#, br#"{"b":2,"a":1}"#).contains("serialised"));
    }
}
