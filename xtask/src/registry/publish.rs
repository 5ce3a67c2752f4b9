//! Applying a push plan: each write in its order, a blob only when the repository lacks it, and
//! each line the plan or a blob's upload says, as it happens.

use anyhow::Result;

use super::session::Session;
use crate::oci::write::{Said, Write};

/// Applies `writes` in order, printing what each did.
pub(crate) fn publish(session: &mut Session, writes: &[Write]) -> Result<()> {
    for write in writes {
        match write {
            Write::Blob { blob, said } => {
                let size = blob.data.len();
                if session.blob_exists(&blob.digest)? {
                    if *said == Said::Always {
                        println!("blob {} {size} bytes: skipped, already there", blob.digest);
                    }
                    continue;
                }
                session.put_blob(blob)?;
                if *said != Said::Nothing {
                    println!("blob {} {size} bytes: uploaded", blob.digest);
                }
            }
            Write::Manifest {
                reference,
                manifest,
                unless_held,
            } => {
                if !(*unless_held && session.manifest_exists(reference)?) {
                    session.put_manifest(reference, manifest)?;
                }
            }
            Write::Say(line) => println!("{line}"),
        }
    }
    Ok(())
}
