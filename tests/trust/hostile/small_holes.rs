//! Small holes a careless command line opens: `--platform ''` (or only commas) must not build a
//! host binary without the shipped link flags and report success with an empty table.

use pause_tests::xtask_cli;

/// `build --platform ''` and `--platform ,`: one line naming the platforms to choose from,
/// non-zero, nothing built (no table).
#[test]
fn build_refuses_an_empty_platform_list_in_one_line() {
    for list in ["", ",", " , "] {
        let case = format!("build --platform {list:?}");
        let said = xtask_cli::run(&["build", "--platform", list], &[]);
        let error = said.error_line(&case);
        xtask_cli::assert_names(&error, &["--platform lists no platform", "linux/amd64"]);
        assert!(
            !said.stdout.contains("platform"),
            "{case}: it printed a table:\n{}",
            said.all()
        );
    }
}
