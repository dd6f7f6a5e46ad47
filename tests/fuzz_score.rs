//! Fuzz surface 4 (issue 34 item 7): `fsrgan score REAL FAKE` with hostile
//! generated sets — `.npy` headers declaring huge or overflowing shapes over
//! a few bytes, wrong dtypes (int64, `<f2`, `|u1`, complex, objects), NaN,
//! infinity and 1e300 values, wrong shapes and counts, missing or extra
//! arrays, broken containers (`.npz`, a directory of `.npy`, `.safetensors`)
//! — and hostile options (`--patch-dirs 0`, huge sizes, negative seeds). No
//! crash, no hang, no exit 0 on an invalid input, every refusal naming the
//! array, file or option (harness: `tests/fuzz/mod.rs`).

mod fuzz;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fuzz::{Case, Expect, Mutation, Surface, pick};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Mutations known to fail, skipped with a note.
const KNOWN_OPEN_SCORE: &[&str] = &[];

const LIMIT: Duration = Duration::from_secs(20);

/// One array of the generated set.
#[derive(Clone)]
struct Arr {
    name: String,
    descr: String,
    fortran: bool,
    shape: Vec<String>,
    data: Vec<u8>,
    /// A raw header dict replacing the one of `descr`/`shape`.
    header: Option<String>,
    /// Bytes replacing the whole `.npy` file.
    raw: Option<Vec<u8>>,
}

impl Arr {
    fn bytes(&self) -> Vec<u8> {
        if let Some(r) = &self.raw {
            return r.clone();
        }
        let h = self
            .header
            .clone()
            .unwrap_or_else(|| fuzz::npy_header(&self.descr, self.fortran, &self.shape));
        fuzz::npy_bytes(&h, &self.data)
    }

    fn n(&self) -> usize {
        self.shape[0].parse().unwrap()
    }

    /// Bytes per sample of a float32 array.
    fn row(&self) -> usize {
        self.data.len() / self.n()
    }

    /// The first `n` samples.
    fn take(&mut self, n: usize) {
        let row = self.row();
        self.data.truncate(n * row);
        self.shape[0] = n.to_string();
    }
}

/// How the set is stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Container {
    Npz,
    Dir,
    Safetensors,
    Dataset,
}

/// The case's generated set, options and REAL.
struct Fake {
    arrays: Vec<Arr>,
    container: Container,
    options: Vec<String>,
    /// Replaces the whole FAKE path's content (a file).
    file_bytes: Option<Vec<u8>>,
    /// FAKE as given (relative to the case directory), if not the default.
    fake_path: Option<String>,
    /// REAL as given, if not the real dataset.
    real_path: Option<String>,
    /// Edits of the safetensors header: (tensor, key, JSON value).
    st_edits: Vec<(String, String, serde_json::Value)>,
}

fn base_arrays(dataset: &Path) -> Vec<Arr> {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dataset.join("manifest.json")).unwrap())
            .unwrap();
    fuzz::read_npz(&dataset.join("samples.npz"))
        .into_iter()
        .map(|(name, b)| {
            let a = name.trim_end_matches(".npy").to_string();
            let shape = m["arrays"][a.as_str()]["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.to_string())
                .collect();
            let off = fuzz::npy_data_offset(&b);
            Arr {
                name: a,
                descr: "<f4".into(),
                fortran: false,
                shape,
                data: b[off..].to_vec(),
                header: None,
                raw: None,
            }
        })
        .collect()
}

fn f32s_to_f64(data: &[u8]) -> Vec<u8> {
    data.chunks(4)
        .flat_map(|c| (f32::from_le_bytes(c.try_into().unwrap()) as f64).to_le_bytes())
        .collect()
}

/// The mutation ids of the surface.
const MUTATIONS: &[&str] = &[
    "valid:npz",
    "valid:dir",
    "valid:safetensors",
    "valid:dataset",
    "valid:f64",
    "valid:n64",
    "header-huge-shape",
    "header-overflow-shape",
    "header-negative-dim",
    "header-3d",
    "dtype-i8",
    "dtype-f2",
    "dtype-u1",
    "dtype-c8",
    "dtype-b1",
    "dtype-object",
    "dtype-big-endian",
    "fortran-order",
    "data-truncated",
    "data-trailing-bytes",
    "bad-magic",
    "garbage-header",
    "npy-empty-file",
    "value-nan",
    "value-inf",
    "value-1e300-f64",
    "value-1e20-f32",
    "shape-wrong-resolution",
    "shape-wrong-channels",
    "shape-x2-as-x1",
    "count-mismatch",
    "count-zero",
    "count-one",
    "missing-x2",
    "extra-x3",
    "renamed-x1",
    "labels-on-unlabelled",
    "fake-empty-file",
    "fake-not-a-zip",
    "fake-truncated-zip",
    "fake-missing",
    "fake-empty-dir",
    "fake-txt",
    "st-huge-shape",
    "st-dtype-i64",
    "st-offsets-beyond",
    "real-missing",
    "real-is-a-file",
    "real-empty-dir",
    "opt:--patch-dirs 0",
    "opt:--max-rows 0",
    "opt:--max-gram-rows 0",
    "opt:--max-pairs 0",
    "opt:--patch-dirs 1e11",
    "opt:--patch-dirs 5000",
    "opt:--patch-dirs -1",
    "opt:--patch-dirs abc",
    "opt:--max-rows 1e11",
    "opt:--max-gram-rows 1e11",
    "opt:--max-pairs 1e11",
    "opt:--seed -1",
    "opt:--threads 1e11",
    "opt:--max-rows 1",
];

/// Applies mutation `what` to a fresh copy of the base set; returns the
/// mutation (expectation and names) and the set to write.
fn mutate(what: &str, base: &[Arr], rng: &mut ChaCha8Rng) -> (Mutation, Fake, String) {
    use Expect::{Either, Invalid, Valid};
    let mut f = Fake {
        arrays: base.to_vec(),
        container: *pick(rng, &[Container::Npz, Container::Dir]),
        options: vec![],
        file_bytes: None,
        fake_path: None,
        real_path: None,
        st_edits: vec![],
    };
    let k = rng.random_range(0..f.arrays.len());
    let a = f.arrays[k].name.clone();
    let id = format!("score:{what}");
    let m = |e: Expect, names: &[&str]| Mutation::new(id.clone(), e, names);
    let mut desc = String::new();
    let an = a.as_str();
    let mutation = match what {
        "valid:npz" => {
            f.container = Container::Npz;
            m(Valid, &[])
        }
        "valid:dir" => {
            f.container = Container::Dir;
            m(Valid, &[])
        }
        "valid:safetensors" => {
            f.container = Container::Safetensors;
            m(Valid, &[])
        }
        "valid:dataset" => {
            f.container = Container::Dataset;
            m(Valid, &[])
        }
        "valid:f64" => {
            for x in &mut f.arrays {
                x.descr = "<f8".into();
                x.data = f32s_to_f64(&x.data);
            }
            m(Valid, &[])
        }
        "valid:n64" => {
            for x in &mut f.arrays {
                x.take(64);
            }
            m(Valid, &[])
        }
        "header-huge-shape" => {
            f.arrays[k].shape[0] = "100000000000".into();
            desc = format!("{a} declares {} samples", f.arrays[k].shape[0]);
            m(Invalid, &[an, "shape"])
        }
        "header-overflow-shape" => {
            f.arrays[k].shape = vec!["4294967296".into(); 4];
            desc = format!("{a} shape (2^32, 2^32, 2^32, 2^32)");
            m(Invalid, &[an, "shape"])
        }
        "header-negative-dim" => {
            f.arrays[k].shape[0] = "-1".into();
            m(Invalid, &[an, "shape"])
        }
        "header-3d" => {
            f.arrays[k].shape.pop();
            m(Invalid, &[an, "shape", "dimension"])
        }
        "dtype-i8" | "dtype-f2" | "dtype-u1" | "dtype-c8" | "dtype-b1" | "dtype-object" => {
            let (d, scale_num, scale_den) = match what {
                "dtype-i8" => ("<i8", 1, 2),
                "dtype-f2" => ("<f2", 2, 1),
                "dtype-u1" => ("|u1", 4, 1),
                "dtype-c8" => ("<c8", 1, 2),
                "dtype-b1" => ("|b1", 4, 1),
                _ => ("|O", 1, 1),
            };
            let x = &mut f.arrays[k];
            let n = x.n();
            x.descr = d.into();
            // The byte count stays consistent: only the dtype is wrong.
            x.shape[0] = (n * scale_num / scale_den).to_string();
            desc = format!("{a} descr {d}, shape {:?}", x.shape);
            m(Invalid, &[an, "dtype", d])
        }
        "dtype-big-endian" => {
            f.arrays[k].descr = ">f4".into();
            m(Either, &[an, "dtype", ">f4", "finite"])
        }
        "fortran-order" => {
            f.arrays[k].fortran = true;
            m(Either, &[an, "fortran"])
        }
        "data-truncated" => {
            let x = &mut f.arrays[k];
            let n = rng.random_range(0..x.data.len());
            x.data.truncate(n);
            desc = format!("{a} data cut to {n} bytes");
            m(Invalid, &[an, "bytes", "truncated", "size"])
        }
        "data-trailing-bytes" => {
            f.arrays[k].data.extend_from_slice(&[0u8; 17]);
            m(Either, &[an, "bytes", "size"])
        }
        "bad-magic" => {
            let mut b = f.arrays[k].bytes();
            b[0] = b'P';
            f.arrays[k].raw = Some(b);
            m(Invalid, &[an, "magic", "npy"])
        }
        "garbage-header" => {
            let h = pick(
                rng,
                &[
                    "not a dict",
                    "{'descr': '<f4'}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1e11, 1, 4, 4), }",
                    "{'descr': 7, 'fortran_order': False, 'shape': (256, 1, 4, 4), }",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': 'abc', }",
                ],
            )
            .to_string();
            desc = format!("{a} header {h:?}");
            f.arrays[k].header = Some(h);
            m(Invalid, &[an, "header", "npy"])
        }
        "npy-empty-file" => {
            f.arrays[k].raw = Some(vec![]);
            m(Invalid, &[an])
        }
        "value-nan" | "value-inf" | "value-1e20-f32" => {
            let v = match what {
                "value-nan" => f32::NAN,
                "value-inf" => f32::INFINITY,
                _ => 1e20,
            };
            let x = &mut f.arrays[k];
            let at = rng.random_range(0..x.data.len() / 4);
            x.data[at * 4..at * 4 + 4].copy_from_slice(&v.to_le_bytes());
            desc = format!("{a}[{at}] = {v}");
            m(Invalid, &[an, "nan", "finite", "inf", "1e15", "magnitude"])
        }
        "value-1e300-f64" => {
            for x in &mut f.arrays {
                x.descr = "<f8".into();
                x.data = f32s_to_f64(&x.data);
            }
            let x = &mut f.arrays[k];
            let at = rng.random_range(0..x.data.len() / 8);
            x.data[at * 8..at * 8 + 8].copy_from_slice(&1e300f64.to_le_bytes());
            desc = format!("{a}[{at}] = 1e300 (float64)");
            m(Invalid, &[an, "1e15", "magnitude", "finite"])
        }
        "shape-wrong-resolution" => {
            let x = &mut f.arrays[k];
            let n = x.n();
            let r: usize = x.shape[3].parse().unwrap();
            x.shape[3] = (r + 1).to_string();
            x.data = vec![0; n * r * (r + 1) * 4];
            m(Invalid, &[an, "shape"])
        }
        "shape-wrong-channels" => {
            let x = &mut f.arrays[k];
            let n = x.n();
            x.shape[1] = "2".into();
            let more = x.data.clone();
            x.data.extend_from_slice(&more);
            let _ = n;
            m(Invalid, &[an, "shape", "channel"])
        }
        "shape-x2-as-x1" => {
            let x1 = f.arrays.iter().find(|x| x.name == "x1").unwrap().clone();
            let x2 = f.arrays.iter_mut().find(|x| x.name == "x2").unwrap();
            x2.shape = x1.shape.clone();
            x2.data = x1.data.clone();
            m(Invalid, &["x2", "shape"])
        }
        "count-mismatch" => {
            let n = f.arrays[k].n();
            f.arrays[k].take(n / 2);
            m(Invalid, &[an, "samples", "shape", "count"])
        }
        "count-zero" => {
            for x in &mut f.arrays {
                x.take(0);
            }
            m(Invalid, &["x1", "x2", "samples", "empty"])
        }
        "count-one" => {
            for x in &mut f.arrays {
                x.take(1);
            }
            m(Either, &["x1", "x2", "samples"])
        }
        "missing-x2" => {
            f.arrays.retain(|x| x.name != "x2");
            m(Invalid, &["x2"])
        }
        "extra-x3" => {
            let mut x3 = f.arrays.iter().find(|x| x.name == "x2").unwrap().clone();
            x3.name = "x3".into();
            f.arrays.push(x3);
            m(Either, &["x3"])
        }
        "renamed-x1" => {
            for x in &mut f.arrays {
                if x.name == "x1" {
                    x.name = "x01".into();
                }
            }
            m(Invalid, &["x1"])
        }
        "labels-on-unlabelled" => {
            let n = f.arrays[0].n();
            f.arrays.push(Arr {
                name: "y".into(),
                descr: "<i8".into(),
                fortran: false,
                shape: vec![n.to_string()],
                data: vec![0; n * 8],
                header: None,
                raw: None,
            });
            m(Either, &["y", "label", "class"])
        }
        "fake-empty-file" => {
            f.container = Container::Npz;
            f.file_bytes = Some(vec![]);
            m(Invalid, &["fake.npz"])
        }
        "fake-not-a-zip" => {
            f.container = Container::Npz;
            f.file_bytes = Some(b"this is not a zip archive at all".to_vec());
            m(Invalid, &["fake.npz"])
        }
        "fake-truncated-zip" => {
            f.container = Container::Npz;
            let tmp = fuzz::tempdir();
            let p = tmp.path().join("z.npz");
            let members: Vec<(String, Vec<u8>)> = f
                .arrays
                .iter()
                .map(|x| (format!("{}.npy", x.name), x.bytes()))
                .collect();
            fuzz::write_npz(&p, &members);
            let b = std::fs::read(&p).unwrap();
            let n = rng.random_range(0..b.len());
            f.file_bytes = Some(b[..n].to_vec());
            desc = format!("fake.npz cut to {n} bytes");
            m(Invalid, &["fake.npz"])
        }
        "fake-missing" => {
            f.fake_path = Some("nothere.npz".into());
            m(Invalid, &["nothere.npz"])
        }
        "fake-empty-dir" => {
            f.fake_path = Some("emptydir".into());
            m(Invalid, &["emptydir", "x1"])
        }
        "fake-txt" => {
            f.fake_path = Some("fake.txt".into());
            m(Invalid, &["fake.txt"])
        }
        "st-huge-shape" => {
            f.container = Container::Safetensors;
            f.st_edits.push((
                a.clone(),
                "shape".into(),
                serde_json::json!([100_000_000_000u64, 1, 4, 4]),
            ));
            m(Invalid, &[an, "shape", "fake.safetensors"])
        }
        "st-dtype-i64" => {
            f.container = Container::Safetensors;
            f.st_edits.push((
                a.clone(),
                "dtype".into(),
                serde_json::json!(pick(rng, &["I64", "F16", "BOOL", "U8"])),
            ));
            m(Invalid, &[an, "dtype", "fake.safetensors"])
        }
        "st-offsets-beyond" => {
            f.container = Container::Safetensors;
            f.st_edits.push((
                a.clone(),
                "data_offsets".into(),
                serde_json::json!([0, 100_000_000_000u64]),
            ));
            m(Invalid, &[an, "offset", "fake.safetensors"])
        }
        "real-missing" => {
            f.real_path = Some("/nonexistent/real".into());
            m(Invalid, &["/nonexistent/real"])
        }
        "real-is-a-file" => {
            f.real_path = Some("fake.npz".into());
            f.container = Container::Npz;
            m(Invalid, &["fake.npz", "manifest"])
        }
        "real-empty-dir" => {
            f.real_path = Some("emptydir".into());
            m(Invalid, &["emptydir", "manifest"])
        }
        opt if opt.starts_with("opt:") => {
            let parts: Vec<String> = opt[4..].split(' ').map(str::to_string).collect();
            let v = if parts[1] == "1e11" {
                "100000000000".to_string()
            } else {
                parts[1].clone()
            };
            let flag = parts[0].clone();
            f.options = vec![flag.clone(), v.clone()];
            let under = flag.trim_start_matches("--").replace('-', "_");
            let e = match opt {
                "opt:--threads 1e11" | "opt:--max-pairs 1e11" => Either,
                "opt:--max-rows 1" => Either,
                _ => Invalid,
            };
            Mutation::new(id.clone(), e, &[flag.as_str(), under.as_str(), v.as_str()])
        }
        other => panic!("unknown mutation {other}"),
    };
    (mutation, f, desc)
}

/// Writes the set into the case directory; returns FAKE and REAL as given
/// on the command line.
fn write_fake(
    dir: &Path,
    f: &Fake,
    st_base: &Path,
    dataset: &Path,
    real: &Path,
) -> (String, String) {
    std::fs::create_dir_all(dir.join("emptydir")).unwrap();
    std::fs::write(dir.join("fake.txt"), "x1 = [1, 2, 3]\n").unwrap();
    let fake = match f.container {
        Container::Npz => {
            let p = dir.join("fake.npz");
            match &f.file_bytes {
                Some(b) => std::fs::write(&p, b).unwrap(),
                None => {
                    let members: Vec<(String, Vec<u8>)> = f
                        .arrays
                        .iter()
                        .map(|x| (format!("{}.npy", x.name), x.bytes()))
                        .collect();
                    fuzz::write_npz(&p, &members);
                }
            }
            "fake.npz".to_string()
        }
        Container::Dir => {
            let d = dir.join("fake");
            std::fs::create_dir_all(&d).unwrap();
            for x in &f.arrays {
                std::fs::write(d.join(format!("{}.npy", x.name)), x.bytes()).unwrap();
            }
            "fake".to_string()
        }
        Container::Safetensors => {
            let b = std::fs::read(st_base).unwrap();
            let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
            let mut h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
            for (t, key, v) in &f.st_edits {
                h[t.as_str()][key.as_str()] = v.clone();
            }
            let mut hb = serde_json::to_vec(&h).unwrap();
            while !hb.len().is_multiple_of(8) {
                hb.push(b' ');
            }
            let mut out = (hb.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(&hb);
            out.extend_from_slice(&b[8 + n..]);
            std::fs::write(dir.join("fake.safetensors"), out).unwrap();
            "fake.safetensors".to_string()
        }
        Container::Dataset => dataset.display().to_string(),
    };
    (
        f.fake_path.clone().unwrap_or(fake),
        f.real_path
            .clone()
            .unwrap_or_else(|| real.display().to_string()),
    )
}

#[test]
fn fuzz_score_hostile_generated_sets_and_options() {
    let mut s = Surface::new("score", 0x5C_0004, KNOWN_OPEN_SCORE);
    let data = fuzz::tempdir();
    let d = data.path();
    fuzz::setup(
        &[
            "sample", "--preset", "tiny", "--n", "512", "--seed", "0", "--out", "real",
        ],
        d,
    );
    fuzz::setup(
        &[
            "sample", "--preset", "tiny", "--n", "256", "--seed", "2", "--out", "fake",
        ],
        d,
    );
    fuzz::setup(
        &[
            "sample",
            "--preset",
            "tiny",
            "--n",
            "256",
            "--seed",
            "2",
            "--format",
            "safetensors",
            "--out",
            "fake-st",
        ],
        d,
    );
    let base = base_arrays(&d.join("fake"));
    for i in fuzz::indices(fuzz::cases()) {
        let mut rng = s.rng(i);
        let what = if i == 0 {
            "valid:npz"
        } else if i < 3 {
            *pick(&mut rng, &MUTATIONS[1..6])
        } else {
            *pick(&mut rng, MUTATIONS)
        };
        let (m, f, desc) = mutate(what, &base, &mut rng);
        let tmp = fuzz::tempdir();
        let (fake, real) = write_fake(
            tmp.path(),
            &f,
            &d.join("fake-st/samples.safetensors"),
            &d.join("fake"),
            &d.join("real"),
        );
        let mut args = vec!["score".to_string(), real, fake];
        args.extend(f.options.iter().cloned());
        let mut cmd = Command::new(fuzz::bin());
        cmd.args(&args).current_dir(tmp.path());
        let case = Case {
            mutations: vec![m],
            cmd,
            limit: LIMIT,
            stdout_is_message: false,
            refusal_codes: vec![],
            input: format!(
                "{:?} container{}; fsrgan {}",
                f.container,
                if desc.is_empty() {
                    String::new()
                } else {
                    format!(", {desc}")
                },
                args.join(" ")
            ),
        };
        s.run_case(i, case);
    }
    s.finish();
}
