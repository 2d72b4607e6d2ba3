use proptest::prelude::*;

use super::*;

/// The whole-file parse, the reference the batches must equal.
fn whole(source: &str) -> Result<Inventory, toml::de::Error> {
    toml::from_str(source)
}

/// An inventory shaped like `benches/process.sh`'s: `n` containers over a few networks.
fn generated(n: usize) -> String {
    let mut s = String::from(
        "# fleet\n[defaults]\nrestart = \"always\"\nenvironment = { TZ = \"UTC\" }\n\n",
    );
    for k in 0..3 {
        s.push_str(&format!(
            "[networks.net{k}]\nsubnet = \"10.89.{k}.0/24\"\n\n[volumes.data{k}]\n\n"
        ));
    }
    for i in 0..n {
        s.push_str(&format!(
            "[containers.app{i}]\nimage = \"ghcr.io/example/app{i}:1.{i}\"\ncmd = [\"serve\", \"--port\", \"{i}\"]\n\
             environment = {{ APP_ID = \"{i}\" }}\nvolumes = [\"/srv/app{i}:/data\", \"data{}:/shared:ro\"]\n\
             health = {{ cmd = \"true\", retries = 3 }}\n\n[containers.app{i}.quadlet.Unit]\nAfter = [\"x.mount\"]\n\n",
            i % 3
        ));
        if i == n / 2 {
            // A table other than containers in the middle: the rest is not one slice.
            s.push_str("[networks.middle]\nsubnet = \"10.90.0.0/24\"\n\n");
        }
    }
    s
}

#[test]
fn batches_give_exactly_the_whole_file_result_spans_included() {
    let source = generated(200);
    let expected = format!("{:?}", whole(&source).expect("valid"));
    for batch_bytes in [1, 100, 1000, 10_000, 1 << 20] {
        let chunked = parse(&source, batch_bytes).expect("a plain inventory is parsed in batches");
        assert_eq!(format!("{chunked:?}"), expected, "batch size {batch_bytes}");
    }
    // Spans point into the file: the last container's name is where the file says.
    let inventory = parse(&source, 100).expect("batches");
    let (name, _) = inventory
        .containers
        .iter()
        .find(|(k, _)| k.get_ref() == "app199")
        .expect("app199");
    assert_eq!(&source[name.span()], "app199");
    let network = inventory
        .networks
        .iter()
        .find(|(k, _)| k.get_ref() == "middle")
        .expect("middle network");
    assert_eq!(&source[network.0.span()], "middle");
}

/// (name, span) of containers.
type Keys = Vec<(String, Range<usize>)>;

/// (name, span) of each container of a parsed inventory.
fn keys_of(inventory: &Inventory) -> Keys {
    let keys = inventory.containers.keys();
    keys.map(|k| (k.get_ref().clone(), k.span())).collect()
}

/// The containers the batches give one at a time, or `None` when they cannot.
fn streamed(source: &str, batch_bytes: usize) -> Option<(Vec<Str>, Keys)> {
    let (_, batches) = split(source, batch_bytes)?;
    let names = batches.names()?.to_vec();
    let mut fed = Vec::new();
    let complete = batches.each_container(&|_, _| (), &mut |name, ()| {
        fed.push((name.get_ref().clone(), name.span()));
        true
    });
    complete.then_some((names, fed))
}

#[test]
fn a_plain_inventory_streams_with_the_names_and_spans_of_the_whole_file() {
    let source = generated(200);
    let expected = keys_of(&whole(&source).expect("valid"));
    for batch_bytes in [1, 1000, 1 << 20] {
        let (names, mut fed) = streamed(&source, batch_bytes).expect("streams");
        let names: Vec<(String, Range<usize>)> = names
            .iter()
            .map(|n| (n.get_ref().clone(), n.span()))
            .collect();
        assert_eq!(names, expected, "batch size {batch_bytes}");
        fed.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(fed, expected, "batch size {batch_bytes}");
    }
}

#[test]
fn anything_the_batches_could_get_wrong_falls_back_to_the_whole_file() {
    let cases = [
        // A container in two batches (TOML merges or rejects; batches cannot tell).
        "[containers.a]\nimage = \"x\"\n[networks.n]\n[containers.a.quadlet.Unit]\nA = \"b\"\n",
        // `containers` outside `[containers.NAME]` tables.
        "[containers]\n[containers.a]\nimage = \"x\"\n",
        "containers = {}\n[containers.a]\nimage = \"x\"\n",
        "[[containers]]\n[containers.a]\nimage = \"x\"\n",
        // Errors, whose messages only the whole-file parse gives.
        "[containers.a]\nimage = 5\n",
        "[containers.a\nimage = \"x\"\n",
        "[containers.a]\nimage = \"x\"\nx = [\n",
    ];
    for case in cases {
        assert!(parse(case, 1).is_none(), "{case}");
    }
}

#[test]
fn brackets_in_strings_and_arrays_are_not_headers() {
    // Inside a value on one line, and in a comment: the batches are used.
    let source = "[containers.a]\nimage = \"[containers.b]\"\ncmd = [\"x\", \"[containers.c]\"]\n\
                  # [containers.d]\n[containers.e]\nimage = 'y'\nlabels = { a = \"[containers.f]\" }\n";
    let chunked = parse(source, 1).expect("batches");
    assert_eq!(
        format!("{chunked:?}"),
        format!("{:?}", whole(source).expect("valid"))
    );
    let names: Vec<&str> = chunked
        .containers
        .keys()
        .map(|k| k.get_ref().as_str())
        .collect();
    assert_eq!(names, ["a", "e"]);
}

#[test]
fn a_line_that_only_looks_like_a_header_falls_back_to_the_whole_file() {
    // A line starting with `[` inside a multi-line string is taken for a header: the
    // batches then do not parse or name a container no batch gives, so the whole file is parsed
    // (or the cut falls inside one batch, which then holds the file's text as it is).
    let cases = [
        "[containers.a]\nimage = \"\"\"\n[containers.b]\n\"\"\"\n[containers.e]\nimage = 'y'\n",
        "[containers.a]\nimage = '''\n  [containers.a]\n'''\n[containers.e]\nimage = 'y'\n",
        "[defaults]\nimage = \"\"\"\n[containers.b]\n\"\"\"\n[containers.e]\nimage = 'y'\n",
    ];
    for case in cases {
        let expected = format!("{:?}", whole(case).expect("valid TOML"));
        // Cut at every header: the fallback.
        assert!(parse(case, 1).is_none(), "{case}");
        // Cut at some or none: the whole-file result, or the fallback.
        for batch in [20, 1000] {
            if let Some(chunked) = parse(case, batch) {
                assert_eq!(format!("{chunked:?}"), expected, "{case}");
            }
        }
    }
}

/// Pieces of inventories, valid and not, that a file is built from.
fn piece() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec!["a", "b", "c", "\"d e\""]);
    (0..20usize, name).prop_map(|(kind, n)| match kind {
        0..=2 => format!("[containers.{n}]\nimage = \"img-{n}\"\n"),
        3 => format!("[containers.{n}.quadlet.Unit]\nAfter = \"x.mount\"\n"),
        4 => format!("[containers.{n}.environment]\nA = \"1\"\n"),
        5 => format!("[networks.{n}]\nsubnet = \"10.0.0.0/24\"\n"),
        6 => format!("[networks.{n}.quadlet.Network]\nX = \"y\"\n"),
        7 => format!("[volumes.{n}]\n"),
        8 => "[defaults]\nrestart = \"always\"\n".into(),
        9 => "[containers]\n".into(),
        10 => format!("containers.{n}.image = \"x\"\n"),
        11 => format!("[containers.{n}]\ncmd = [\n  \"a\",\n  \"[containers.zz]\",\n]\n"),
        12 => format!("[containers.{n}]\nimage = \"\"\"\n[containers.evil]\n\"\"\"\n"),
        13 => format!("# [containers.{n}]\n\n"),
        14 => "[[containers]]\n".into(),
        15 => format!("  [ containers . {n} ]  # spaced\nimage = 'q'\n"),
        16 => format!("[containers.{n}]\nhealth = {{ cmd = \"x\", retries = 3 }}\n"),
        17 => format!("[containers.{n}]\nimage = 5\n"),
        18 => format!("[containers.{n}\n"),
        _ => format!("[containers.{n}]\nlabels = {{ a = \"1\",\n b = \"2\" }}\n"),
    })
}

proptest! {
    /// Whenever the batches give an inventory, it is the whole-file parse's, spans included;
    /// a file the whole-file parse rejects never comes out of the batches.
    #[test]
    fn batches_equal_the_whole_file_parse(
        pieces in prop::collection::vec(piece(), 0..12),
        batch_bytes in 1usize..200,
    ) {
        let source = pieces.concat();
        let expected = whole(&source);
        if let Some(chunked) = parse(&source, batch_bytes) {
            match &expected {
                Ok(expected) => prop_assert_eq!(format!("{chunked:?}"), format!("{expected:?}")),
                Err(e) => prop_assert!(false, "batches accepted what TOML rejects: {}", e),
            }
        }
        // Streamed, the names announced and the containers given are the whole file's.
        if let Some((names, mut fed)) = streamed(&source, batch_bytes) {
            let Ok(expected) = expected else {
                return Err(TestCaseError::fail("batches streamed what TOML rejects"));
            };
            let expected = keys_of(&expected);
            let names: Vec<(String, Range<usize>)> =
                names.iter().map(|n| (n.get_ref().clone(), n.span())).collect();
            prop_assert_eq!(&names, &expected);
            fed.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(&fed, &expected);
        }
    }
}
