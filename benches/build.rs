//! `quadgen build` of a generated 1,000-container inventory: compile (parse → validate → lower →
//! render, the pure core) and compile + write to tmpfs. Run with `cargo bench --bench build`.

use std::path::Path;

use quadgen::compile::version::PodmanVersion;

/// The binary's allocator, tuned the same way, so the figures are the binary's. (It matters:
/// compiling 1,000 in process took 24.4 ms with glibc's malloc on two threads, 13.7 on one; with
/// mimalloc 5.9 ms on two, 9.9 on one.)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    quadgen::cli::keep_freed_memory();
    divan::main();
}

/// 1,000 containers spread over 10 networks, with volumes, env, health checks and dependencies.
fn inventory(containers: usize) -> String {
    let mut s = String::from(
        "[defaults]\nrestart = \"always\"\nenvironment = { TZ = \"Europe/Berlin\" }\n\n",
    );
    for n in 0..10 {
        s.push_str(&format!(
            "[networks.net{n}]\nsubnet = \"10.89.{n}.0/24\"\n\n[volumes.data{n}]\n\n"
        ));
    }
    for i in 0..containers {
        let net = i % 10;
        s.push_str(&format!(
            "[containers.app{i}]\nimage = \"ghcr.io/example/app{i}:1.{i}\"\n\
             cmd = [\"serve\", \"--port\", \"{port}\", \"--name\", \"app {i}\"]\n\
             environment = {{ APP_ID = \"{i}\", GREETING = \"100% $HOME\" }}\n\
             ports = [\"127.0.0.1:{port}:8080\"]\n\
             volumes = [\"/srv/app{i}:/data\", \"data{net}:/shared:ro\"]\n\
             networks = [\"net{net}\"]\n\
             after = [\"mnt-backup.mount\"]\n\
             health = {{ cmd = \"wget -q -O /dev/null http://127.0.0.1:8080/\", interval = \"30s\", retries = 3 }}\n",
            port = 20000 + i
        ));
        if i > 0 && i % 10 != 0 {
            s.push_str(&format!("depends_on = [\"app{}\"]\n", i - 1));
        }
        s.push('\n');
    }
    s
}

#[divan::bench]
fn compile_1000(bencher: divan::Bencher) {
    let src = inventory(1000);
    bencher.bench(|| {
        let compiled =
            quadgen::compile::compile(Path::new("bench.toml"), &src, PodmanVersion::DEFAULT)
                .unwrap_or_else(|_| panic!("bench inventory must be valid"));
        assert_eq!(compiled.files.len(), 1020);
        compiled
    });
}

/// A tmpfs directory for build output (or /tmp), and the `out` path in it.
fn tmpfs_out() -> (tempfile::TempDir, std::path::PathBuf) {
    let base = if Path::new("/dev/shm").is_dir() {
        Path::new("/dev/shm")
    } else {
        Path::new("/tmp")
    };
    let tmp = tempfile::tempdir_in(base).expect("tmpfs dir");
    let out = tmp.path().join("out");
    (tmp, out)
}

/// `build` into a directory that does not exist yet: every file is written.
#[divan::bench(sample_count = 20)]
fn compile_and_write_1000_to_tmpfs(bencher: divan::Bencher) {
    let src = inventory(1000);
    let (_tmp, out) = tmpfs_out();
    bencher
        .with_inputs(|| {
            let _ = std::fs::remove_dir_all(&out);
        })
        .bench_values(|()| {
            let compiled =
                quadgen::compile::compile(Path::new("bench.toml"), &src, PodmanVersion::DEFAULT)
                    .unwrap_or_else(|_| panic!("bench inventory must be valid"));
            quadgen::install::out_dir::write_out_dir(&out, &compiled.files).expect("write");
        });
}

/// `build` again over an earlier build of the same inventory: read and compared, nothing written.
#[divan::bench(sample_count = 20)]
fn compile_and_rebuild_1000_unchanged_on_tmpfs(bencher: divan::Bencher) {
    let src = inventory(1000);
    let (_tmp, out) = tmpfs_out();
    let compile = || {
        quadgen::compile::compile(Path::new("bench.toml"), &src, PodmanVersion::DEFAULT)
            .unwrap_or_else(|_| panic!("bench inventory must be valid"))
    };
    quadgen::install::out_dir::write_out_dir(&out, &compile().files).expect("write");
    bencher.bench(|| {
        let written = quadgen::install::out_dir::write_out_dir(&out, &compile().files);
        assert_eq!(
            written.expect("write"),
            quadgen::install::out_dir::Written::Unchanged
        );
    });
}
