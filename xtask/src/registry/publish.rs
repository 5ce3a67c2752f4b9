//! Applying a push plan: each write in its order, a blob only when the repository lacks it, a
//! manifest only when the repository does not hold it already under its reference (a `HEAD`
//! first, as go-containerregistry does), and each line the plan or a write says, as it happens;
//! with a tally of what was sent and what was there already, for the push's last line.

use std::collections::BTreeMap;

use anyhow::Result;

use super::session::Session;
use crate::oci::write::{Said, Write};
use crate::progress::Progress;

/// What a push's writes did so far.
#[derive(Debug, Default)]
pub(crate) struct Published {
    pub(crate) blobs_uploaded: usize,
    pub(crate) blobs_there: usize,
    pub(crate) manifests_pushed: usize,
    pub(crate) manifests_there: usize,
    /// The digest each manifest reference written (a tag or a digest) now holds.
    pub(crate) stored: BTreeMap<String, String>,
}

impl Published {
    /// `9 blobs uploaded, 0 already there; 14 manifests pushed, 0 already there`.
    pub(crate) fn tally(&self) -> String {
        format!(
            "{} blobs uploaded, {} already there; {} manifests pushed, {} already there",
            self.blobs_uploaded, self.blobs_there, self.manifests_pushed, self.manifests_there
        )
    }
}

/// Applies `writes` in order, saying what each did where `progress` goes, and adds it to
/// `published`.
pub(crate) fn publish(
    session: &mut Session,
    writes: &[Write],
    progress: Progress,
    published: &mut Published,
) -> Result<()> {
    for write in writes {
        match write {
            Write::Blob { blob, said } => {
                let size = blob.data.len();
                if session.blob_exists(&blob.digest)? {
                    published.blobs_there += 1;
                    if *said == Said::Always {
                        progress.say(&format!(
                            "blob {} {size} bytes: skipped, already there",
                            blob.digest
                        ));
                    }
                    continue;
                }
                session.put_blob(blob)?;
                published.blobs_uploaded += 1;
                if *said != Said::Nothing {
                    progress.say(&format!("blob {} {size} bytes: uploaded", blob.digest));
                }
            }
            Write::Manifest {
                reference,
                manifest,
                said,
            } => {
                let there = session.manifest_digest(reference)?.as_deref()
                    == Some(manifest.digest.as_str());
                if there {
                    published.manifests_there += 1;
                } else {
                    session.put_manifest(reference, manifest)?;
                    published.manifests_pushed += 1;
                }
                published
                    .stored
                    .insert(reference.clone(), manifest.digest.clone());
                if let Some(said) = said {
                    let done = if there { "exists" } else { "pushed" };
                    progress.say(&format!("{said}: {done}"));
                }
            }
            Write::Say(line) => progress.say(line),
        }
    }
    Ok(())
}
