// Docker's spellings over berth's JSON documents, for `--format` templates: scripts written
// for `docker inspect -f '{{.State.Pid}}'` or `docker ps --format '{{.Names}}'` work unchanged.
// Each function returns berth's own document with Docker's keys added beside its keys (JSON
// keys are case-sensitive, so berth's "state" string and Docker's "State" object coexist);
// berth's keys stay reachable (`.pid`, `.networks`) and, through the template's folded lookup,
// as `.Pid` or `.ExitCode` where Docker has no key of that name.
//
// Pure JSON -> JSON: no engine calls, so the mapping is unit-tested on plain documents.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace berth::cli {

/// `inspect`: .Id, .Name ("/name"), .Created, .State.{Status,Running,Pid,ExitCode},
/// .Config.{Hostname,Cmd}, .HostConfig.NetworkMode, .NetworkSettings.{SandboxKey,IPAddress,
/// IPPrefixLen,MacAddress,Gateway,Ports,Networks.NET.{IPAddress,IPPrefixLen,MacAddress,Gateway,
/// NetworkID,Aliases}} over render.h's ContainerJson; a stopped container's networks (its
/// "stopped_networks") listed without an address, as Docker lists them.
nlohmann::json DockerContainerView(nlohmann::json berth);

/// `network inspect`: .Id, .Name, .Driver, .Scope, .Internal, .EnableIPv6, .Options, .Created,
/// .IPAM.Config[].{Subnet,Gateway,IPRange}, .Containers.ID.{Name,IPv4Address,MacAddress}.
nlohmann::json DockerNetworkView(nlohmann::json berth);

/// A `ps` row: .ID (12 characters), .Names, .Command (quoted), .CreatedAt, .Status, .State,
/// .Ports, .Networks, .Pid, .IPs.
nlohmann::json PsRow(nlohmann::json berth);
/// Docker's column header for a `ps` field (.ID -> "CONTAINER ID").
std::string PsHeader(const std::string& field);

/// A `network ls` row: .ID (12 characters), .Name, .Driver, .Scope, .IPv6, .Internal,
/// .Subnet, .Gateway, .CreatedAt.
nlohmann::json NetworkLsRow(nlohmann::json berth);
std::string NetworkLsHeader(const std::string& field);

}  // namespace berth::cli
