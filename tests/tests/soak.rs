//! The soak (tests/src/soak), both levels: a short run by default, about three minutes in
//! all; `KMIP_SOAK_SECONDS` and `KMIP_SOAK_SEED` set each level's length and the draws,
//! `KMIP_SOAK_LEVEL` runs one level only, the other recorded as a skip (scripts/soak.sh).
//! The two levels run one after the other, not side by side: the component level counts
//! this process's descriptors and memory.

use anyhow::Result;
use kmip_keyring_tests::mysqld::with_mysqld;
use kmip_keyring_tests::record_skip;
use kmip_keyring_tests::soak::{component, mysqld, Settings};

#[test]
fn the_soak_loses_nothing_never_hangs_and_levels_off() -> Result<()> {
    let settings = Settings::from_env()?;
    eprintln!(
        "soak: {:?} per level, seed {} (KMIP_SOAK_SEED={} repeats the draws)",
        settings.duration, settings.seed, settings.seed
    );
    if settings.levels.component() {
        let report = component::run(&settings)?;
        println!("{report}");
    } else {
        record_skip(
            "soak::the_soak_loses_nothing_never_hangs_and_levels_off [component level]",
            "not run (KMIP_SOAK_LEVEL=mysqld)",
        );
    }
    if !settings.levels.mysqld() {
        record_skip(
            "soak::the_soak_loses_nothing_never_hangs_and_levels_off [mysqld level]",
            "not run (KMIP_SOAK_LEVEL=component)",
        );
        return Ok(());
    }
    with_mysqld(
        "soak::the_soak_loses_nothing_never_hangs_and_levels_off (mysqld level)",
        || {
            let report = mysqld::run(&settings)?;
            println!("{report}");
            Ok(())
        },
    )
}
