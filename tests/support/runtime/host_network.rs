//! The host's network state that a container engine changes when it runs in the host's network
//! namespace: firewall rules (iptables and ip6tables, without their counters), bridges, named
//! network namespaces, IP forwarding. Taken before and after, the difference is what an engine
//! left behind, counting only what carries an engine's names: other tests and other runs on the
//! machine add bridges and namespaces of their own meanwhile, and those are not this engine's.

use std::collections::BTreeSet;

use crate::Need;
use crate::process::run;

pub const NEEDS: &[Need] = &[
    Need::program("iptables-save", "iptables"),
    Need::program("ip6tables-save", "iptables"),
    Need::program("ip", "iproute2"),
];
/// How [`HostNetwork::added_in`] begins a network namespace's line.
pub const NAMESPACE: &str = "network namespace ";
/// What Docker Engine and podman name what they add to a network: docker's and netavark's
/// chains, CNI's, their default bridges (`docker0`, `br-<id>`, `podman0`, `cni-podman0`).
const ENGINE_MARKS: &[&str] = &["DOCKER", "NETAVARK", "CNI-", "docker", "br-", "podman"];
/// Where the kernel says whether it forwards IPv4 between interfaces (dockerd turns it on).
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

#[derive(Debug, PartialEq, Eq)]
pub struct HostNetwork {
    /// `<table>: <rule or chain>`, from iptables-save and ip6tables-save.
    rules: BTreeSet<String>,
    bridges: BTreeSet<String>,
    namespaces: BTreeSet<String>,
    ip_forward: String,
}

impl HostNetwork {
    pub fn now() -> HostNetwork {
        let mut rules = rules_of("iptables-save", "ipv4");
        rules.extend(rules_of("ip6tables-save", "ipv6"));
        HostNetwork {
            rules,
            bridges: first_words(&run(&["ip", "-o", "link", "show", "type", "bridge"]), 1),
            namespaces: first_words(&run(&["ip", "netns", "list"]), 0),
            ip_forward: std::fs::read_to_string(IP_FORWARD)
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }

    /// What an engine added between `self` and `later`, one line each: rules and bridges that
    /// carry an engine's names, network namespaces whose name starts with one of `namespaces`.
    pub fn added_in(&self, later: &HostNetwork, namespaces: &[&str]) -> Vec<String> {
        let mut added: Vec<String> = Vec::new();
        let mut new = |kind: &str,
                       before: &BTreeSet<String>,
                       after: &BTreeSet<String>,
                       ours: &dyn Fn(&str) -> bool| {
            added.extend(
                after
                    .difference(before)
                    .filter(|item| ours(item))
                    .map(|item| format!("{kind} {item}")),
            );
        };
        let engines = |item: &str| ENGINE_MARKS.iter().any(|mark| item.contains(mark));
        new("firewall rule", &self.rules, &later.rules, &engines);
        new("bridge", &self.bridges, &later.bridges, &engines);
        new(
            NAMESPACE.trim_end(),
            &self.namespaces,
            &later.namespaces,
            &|name: &str| namespaces.iter().any(|prefix| name.starts_with(prefix)),
        );
        if self.ip_forward != later.ip_forward {
            added.push(format!(
                "{IP_FORWARD} {} instead of {}",
                later.ip_forward, self.ip_forward
            ));
        }
        added
    }
}

/// Every chain and rule `program` (iptables-save or ip6tables-save) lists, with its table and
/// without packet counters.
fn rules_of(program: &str, family: &str) -> BTreeSet<String> {
    let mut table = String::new();
    let mut rules = BTreeSet::new();
    for line in run(&[program]).lines() {
        if let Some(name) = line.strip_prefix('*') {
            table = name.to_string();
        } else if let Some(chain) = line.strip_prefix(':') {
            // `:NAME POLICY [packets:bytes]`: the counters change all the time.
            let chain: Vec<&str> = chain.split_whitespace().take(2).collect();
            rules.insert(format!("{family} {table}: chain {}", chain.join(" ")));
        } else if line.starts_with('-') {
            rules.insert(format!("{family} {table}: {line}"));
        }
    }
    rules
}

/// The `field`-th whitespace-separated word of each line, up to a colon or `@` (`ip -o link`
/// writes `2: docker0: <...>`, veths `veth1@if2:`).
fn first_words(text: &str, field: usize) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().nth(field))
        .map(|word| word.split(['@', ':']).next().unwrap_or(word).to_string())
        .collect()
}
