//! `cargo xtask`: build, package, push, test and benchmark pause. See `cargo xtask --help`.

mod flags;

use std::io::Write;

use anyhow::Result;
use xshell::Shell;
use xtask::commands::push::{Output, PushOptions};
use xtask::commands::{bench, build, image, keygen, lint, push, test, verify};
use xtask::escape;
use xtask::exit_status::{self, ExitStatus};
use xtask::platform::{PLATFORMS, Platform};
use xtask::progress::Progress;
use xtask::project;
use xtask::secret_variables;
use xtask::terminal::password::PASSWORD_VAR;
use xtask::version;

use crate::flags::{Xtask, XtaskCmd, registry_flags};

fn main() {
    // SAFETY: the first thing the process does: no other thread exists yet.
    let kept = unsafe { secret_variables::take(&[PASSWORD_VAR]) };
    let typed: Vec<_> = std::env::args_os().skip(1).collect();
    if let [only] = typed.as_slice()
        && (only == "--version" || only == "-V")
    {
        print(&version::lines(&Shell::new().expect("a shell")));
        return;
    }
    let args = flags::split_assignments(typed.iter().cloned());
    let command = args.iter().find_map(|arg| {
        arg.to_str()
            .filter(|arg| !arg.starts_with('-'))
            .map(str::to_string)
    });
    let flags = match Xtask::from_vec(args) {
        Ok(flags) => flags,
        // `cargo xtask` alone lists the commands, as `cargo` and `docker` do.
        Err(error) if error.is_help() || typed.is_empty() => {
            print(&help(command.as_deref()));
            return;
        }
        Err(error) => {
            let error = flags::usage_error(&error.to_string(), &typed);
            eprintln!("error: {}", escape::controls_escaped(&error));
            std::process::exit(ExitStatus::Usage.code());
        }
    };
    if let Err(error) = run(flags, kept.get(PASSWORD_VAR)) {
        eprintln!("error: {}", escape::controls_escaped(&format!("{error:#}")));
        std::process::exit(exit_status::of(&error).code());
    }
}

/// Runs the command; `cosign_password` is the value COSIGN_PASSWORD had, which no child sees.
fn run(flags: Xtask, cosign_password: Option<&[u8]>) -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project::root());
    match flags.subcommand {
        XtaskCmd::Build(flags) => build::run(&sh, &platforms(flags.platform.as_deref())?),
        XtaskCmd::Image(flags) => {
            let output = Output {
                quiet: flags.quiet,
                json: flags.json,
                metadata_file: flags.metadata_file,
            };
            let options = image::Options {
                platforms: platforms(flags.platform.as_deref())?,
                tag: flags.tag.unwrap_or_else(image::default_tag),
                out: match flags.out {
                    Some(dir) => std::path::absolute(dir)?,
                    None => project::image_dir(),
                },
                // With --push, the pushed reference is the result.
                progress: match &flags.push {
                    Some(_) => output.progress(),
                    None if output.quiet => Progress::Quiet,
                    None => Progress::Stdout,
                },
            };
            let registry = registry_flags(
                flags.username,
                flags.password_stdin,
                flags.insecure,
                flags.ca_file,
            );
            let push_to = flags.push;
            if push_to.is_none()
                && let Some(flag) = registry
                    .first_given()
                    .or(flags.sign_key.is_some().then_some("--sign-key"))
                    .or(output.json.then_some("--json"))
                    .or(output.metadata_file.is_some().then_some("--metadata-file"))
            {
                return Err(exit_status::error(
                    ExitStatus::Usage,
                    format!(
                        "{flag} is an option of the push, and no --push REGISTRY/REPOSITORY:TAG was given: add --push, or leave it out"
                    ),
                ));
            }
            // The reference is checked, and the key's password asked (and checked), before the
            // build: a mistake fails at once, not after minutes of compiling.
            if let Some(reference) = &push_to {
                push::check_target(reference)?;
            }
            let sign_key = flags
                .sign_key
                .as_deref()
                .map(|path| push::signing_key(path, cosign_password, output.progress()))
                .transpose()?;
            image::run(&sh, &options)?;
            match push_to {
                Some(reference) => {
                    let push_options = PushOptions {
                        layout: project::layout_dir(&options.out),
                        registry: registry.options()?,
                    };
                    push::run(&sh, &push_options, sign_key.as_ref(), &reference, &output)
                }
                None => Ok(()),
            }
        }
        XtaskCmd::Push(flags) => {
            let layout = match flags.layout {
                Some(dir) => std::path::absolute(dir)?,
                None => project::layout_dir(&project::image_dir()),
            };
            let output = Output {
                quiet: flags.quiet,
                json: flags.json,
                metadata_file: flags.metadata_file,
            };
            let sign_key = flags
                .sign_key
                .as_deref()
                .map(|path| push::signing_key(path, cosign_password, output.progress()))
                .transpose()?;
            let registry = registry_flags(
                flags.username,
                flags.password_stdin,
                flags.insecure,
                flags.ca_file,
            );
            let options = PushOptions {
                layout,
                registry: registry.options()?,
            };
            push::run(&sh, &options, sign_key.as_ref(), &flags.reference, &output)
        }
        XtaskCmd::Verify(flags) => {
            let registry = registry_flags(
                flags.username,
                flags.password_stdin,
                flags.insecure,
                flags.ca_file,
            );
            let options = verify::Options {
                reference: flags.reference,
                key: match flags.key {
                    // Relative to where the user typed the command.
                    Some(path) => Some(std::path::absolute(path)?),
                    None => None,
                },
                registry: registry.options()?,
                json: flags.json,
                wide: flags.wide,
            };
            verify::run(&sh, &options)
        }
        XtaskCmd::Keygen(flags) => {
            // Relative to where the user typed the command, not to the repository root that the
            // shell above changed to.
            let out = std::path::absolute(flags.out.unwrap_or_else(|| ".".into()))?;
            keygen::run(&out, cosign_password)
        }
        XtaskCmd::Test(flags) => {
            let args: Vec<String> = flags
                .args
                .into_iter()
                .map(|arg| {
                    arg.into_string()
                        .map_err(|arg| anyhow::anyhow!("argument {arg:?} is not UTF-8"))
                })
                .collect::<Result<_>>()?;
            test::run(&sh, &args)
        }
        XtaskCmd::Lint(_) => lint::run(&sh),
        XtaskCmd::Bench(_) => bench::run(&sh),
        XtaskCmd::Help(flags) => match flags.command {
            Some(command) if flags::command_help(&command).is_none() => Err(exit_status::error(
                ExitStatus::Usage,
                format!("unknown command `{command}`: see `cargo xtask --help`"),
            )),
            command => {
                print(&help(command.as_deref()));
                Ok(())
            }
        },
    }
}

/// `command`'s whole help, or the list of commands.
fn help(command: Option<&str>) -> String {
    command
        .and_then(flags::command_help)
        .unwrap_or_else(flags::listing)
}

/// Prints `text` and a newline on stdout: a closed stdout (`| head`) is not an error worth a
/// panic.
fn print(text: &str) {
    let _ = writeln!(std::io::stdout(), "{}", text.trim_end());
}

/// `--platform LIST`, or every platform.
fn platforms(list: Option<&str>) -> Result<Vec<&'static Platform>> {
    match list {
        Some(list) => {
            Platform::parse_list(list).map_err(|error| exit_status::error(ExitStatus::Usage, error))
        }
        None => Ok(PLATFORMS.iter().collect()),
    }
}
