//! The memory limit of the container the process runs in, read from its cgroup: `memory.max`
//! (cgroup v2) or `memory.limit_in_bytes` (cgroup v1), the lowest found from the process's own
//! cgroup up to the root of the hierarchy as mounted (a limit may be set on a parent, such as a
//! pod's). The cgroup comes from `/proc/self/cgroup` and where its hierarchy is mounted from
//! `/proc/self/mountinfo`, so it is found the same way with or without a cgroup namespace: Docker
//! on cgroup v1 mounts the container's own cgroup (`/docker/<id>`) as the hierarchy's root.

use std::path::{Path, PathBuf};

/// At or above this a v1 limit means none (the kernel writes `PAGE_COUNTER_MAX` pages, about
/// 2^63 bytes, for an unlimited cgroup).
const UNLIMITED_V1: u64 = 1 << 60;

/// The process's memory limit in bytes, `None` when it has none or it cannot be read.
pub fn memory_limit() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    memory_limit_from(&cgroups, &mounts, Path::new("/"))
}

/// The memory limit described by `cgroups` (as in `/proc/self/cgroup`) and `mounts` (as in
/// `/proc/self/mountinfo`), with the mount points under `root`. cgroup v2 when its hierarchy
/// has the memory controller, else v1.
fn memory_limit_from(cgroups: &str, mounts: &str, root: &Path) -> Option<u64> {
    let v2 = Hierarchy::find(
        cgroups,
        mounts,
        root,
        "cgroup2",
        |_| true,
        |controllers| controllers.is_empty(),
    );
    if let Some(v2) = v2.filter(|h| h.leaf().join("memory.max").exists()) {
        return v2.lowest("memory.max");
    }
    let memory = |list: &str| list.split(',').any(|name| name == "memory");
    Hierarchy::find(cgroups, mounts, root, "cgroup", memory, memory)?
        .lowest("memory.limit_in_bytes")
}

/// Where a cgroup hierarchy is mounted and where the process sits in it.
struct Hierarchy {
    mount_point: PathBuf,
    /// The process's cgroup, relative to the mount point.
    relative: PathBuf,
}

impl Hierarchy {
    /// The hierarchy of file system type `fs_type` whose mount options satisfy `mounted` and
    /// whose line in `cgroups` has controllers satisfying `listed`.
    fn find(
        cgroups: &str,
        mounts: &str,
        root: &Path,
        fs_type: &str,
        mounted: impl Fn(&str) -> bool,
        listed: impl Fn(&str) -> bool,
    ) -> Option<Self> {
        let path = cgroups.lines().find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            listed(controllers).then_some(path)
        })?;
        let (mount_root, mount_point) = mounts.lines().find_map(|line| {
            let (mount, source) = line.split_once(" - ")?;
            let mut source = source.split(' ');
            let (kind, _device, options) = (source.next()?, source.next()?, source.next()?);
            let mut mount = mount.split(' ');
            let mount_root = mount.nth(3)?;
            let mount_point = mount.next()?;
            (kind == fs_type && mounted(options)).then_some((mount_root, mount_point))
        })?;
        // A cgroup outside the mounted part (a namespace's view): the mount's root is ours.
        let relative = path
            .strip_prefix(mount_root)
            .unwrap_or_default()
            .trim_start_matches('/');
        Some(Self {
            mount_point: root.join(mount_point.trim_start_matches('/')),
            relative: PathBuf::from(relative),
        })
    }

    fn leaf(&self) -> PathBuf {
        self.mount_point.join(&self.relative)
    }

    /// The lowest limit in `file` from the process's cgroup up to the mount point.
    fn lowest(&self, file: &str) -> Option<u64> {
        let mut lowest: Option<u64> = None;
        let mut dir = self.leaf();
        loop {
            if let Some(limit) = read_limit(&dir.join(file)) {
                lowest = Some(lowest.map_or(limit, |l| l.min(limit)));
            }
            if dir == self.mount_point || !dir.pop() {
                return lowest;
            }
        }
    }
}

/// A limit file's value: `None` for `max`, a v1 "unlimited", or a file that cannot be read.
fn read_limit(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let limit: u64 = text.trim().parse().ok()?;
    (limit < UNLIMITED_V1).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake file system under a temporary directory.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("cgroup-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Self(dir)
        }

        fn write(&self, path: &str, value: &str) -> &Self {
            let file = self.0.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, value).unwrap();
            self
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const V2_MOUNT: &str =
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";

    #[test]
    fn cgroup_v2_in_a_namespace_reads_memory_max_at_the_root() {
        let tree = Tree::new("v2");
        tree.write("sys/fs/cgroup/memory.max", "134217728\n");
        assert_eq!(
            memory_limit_from("0::/\n", V2_MOUNT, &tree.0),
            Some(128 << 20)
        );
        tree.write("sys/fs/cgroup/memory.max", "max\n");
        assert_eq!(memory_limit_from("0::/\n", V2_MOUNT, &tree.0), None);
    }

    #[test]
    fn the_lowest_limit_from_the_process_up_to_the_root_applies() {
        let tree = Tree::new("nested");
        tree.write("sys/fs/cgroup/kubepods/pod1/memory.max", "100000000\n")
            .write("sys/fs/cgroup/kubepods/pod1/c1/memory.max", "max\n")
            .write("sys/fs/cgroup/kubepods/memory.max", "200000000\n");
        let cgroups = "0::/kubepods/pod1/c1\n";
        assert_eq!(
            memory_limit_from(cgroups, V2_MOUNT, &tree.0),
            Some(100_000_000)
        );
    }

    #[test]
    fn cgroup_v1_under_docker_reads_the_container_cgroup_mounted_as_root() {
        let tree = Tree::new("v1");
        tree.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "134217728\n");
        let cgroups = "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n";
        let mounts = "\
            33 31 0:30 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n\
            35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n";
        assert_eq!(memory_limit_from(cgroups, mounts, &tree.0), Some(128 << 20));
    }

    #[test]
    fn a_hybrid_host_without_the_v2_memory_controller_reads_v1_and_unlimited_is_none() {
        let tree = Tree::new("hybrid");
        tree.write("sys/fs/cgroup/unified/cgroup.procs", "")
            .write(
                "sys/fs/cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            )
            .write(
                "sys/fs/cgroup/memory/batch/memory.limit_in_bytes",
                "9223372036854771712\n",
            );
        let cgroups = "4:memory:/batch\n0::/\n";
        let mounts = "\
            35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        assert_eq!(memory_limit_from(cgroups, mounts, &tree.0), None);
        tree.write(
            "sys/fs/cgroup/memory/batch/memory.limit_in_bytes",
            "268435456\n",
        );
        assert_eq!(memory_limit_from(cgroups, mounts, &tree.0), Some(256 << 20));
    }

    #[test]
    fn no_cgroup_file_system_means_no_limit() {
        let tree = Tree::new("none");
        assert_eq!(memory_limit_from("0::/\n", "", &tree.0), None);
        assert_eq!(memory_limit_from("", V2_MOUNT, &tree.0), None);
    }
}
