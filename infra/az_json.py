#!/usr/bin/env python3
"""az_json.py - reads the JSON that the az CLI and Azure's Retail Prices API answer,
for infra/vm-manage.sh, which has no JSON parser of its own.

usage: az_json.py COMMAND [ARGS]   (the JSON on standard input unless said otherwise)
  tags                      a resource group (az group show): prints "PROJECT<TAB>RUN",
                            the values of its tags project and casbench-run (empty if absent)
  running-deployments       az deployment group list: the names of those whose
                            provisioningState is Accepted or Running, one a line
  vm-facts                  az vm list (its first VM) or az vm show: one "field<TAB>value" line each for vm_size,
                            location, image, image_version, security_type, zone, os_disk_type
  preflight LOC PARALLEL USAGE SKUS_DIR SIZE...
                            USAGE is az vm list-usage's answer, SKUS_DIR/SIZE.json each
                            az vm list-skus --size SIZE --all's answer. Prints one table row
                            per size; exits 1 (reasons on stderr) when a size is not offered
                            to this subscription in LOC or the vCPU quota cannot hold
                            PARALLEL of the sizes at once.
  size NAME                 the size in Azure's own case (standard_d2S_V5 -> Standard_D2s_v5)
  price SIZE LOC            one page of the Retail Prices API: the Linux pay-as-you-go rows
                            of SIZE, then "next<TAB>URL" when the answer has a NextPageLink

Exit status: 0 done; 1 the check failed (preflight) or no row (price); 2 usage;
3 an answer that is not the JSON expected.
"""
import json
import os
import re
import sys

PROG = "vm-manage.sh"


def die(msg, status=3):
    print("%s: %s" % (PROG, msg), file=sys.stderr)
    sys.exit(status)


def load(stream, what):
    try:
        return json.load(stream)
    except ValueError as e:
        die("%s: not the JSON az answers (%s)" % (what, e))


def canonical_size(name):
    """Azure's spelling of a VM size. The Retail Prices API compares armSkuName
    case-sensitively from api-version 2023-01-01-preview on, so the case matters:
    the series letters upper case, the feature letters after the vCPU count lower
    case, a version (v5) lower case, an accelerator (A100) upper case."""
    parts = name.split("_")
    if parts[0].lower() == "standard":
        parts = parts[1:]
    out = ["Standard"]
    for i, p in enumerate(parts):
        m = re.fullmatch(r"([A-Za-z]+)(\d+)([A-Za-z-]*)", p)
        if re.fullmatch(r"[vV]\d+", p):
            out.append(p.lower())
        elif i == 0 and m:
            out.append(m.group(1).upper() + m.group(2) + m.group(3).lower())
        else:
            out.append(p.upper())
    return "_".join(out)


def cmd_tags():
    g = load(sys.stdin, "az group show")
    tags = (g or {}).get("tags") or {}
    print("%s\t%s" % (tags.get("project", ""), tags.get("casbench-run", "")))


def cmd_running_deployments():
    for d in load(sys.stdin, "az deployment group list") or []:
        if (d.get("properties") or {}).get("provisioningState") in ("Accepted", "Running"):
            print(d["name"])


def cmd_vm_facts():
    vm = load(sys.stdin, "az vm list")
    if isinstance(vm, list):
        if not vm:
            die("az vm list: no VM in the group")
        vm = vm[0]
    vm = vm or {}
    storage = vm.get("storageProfile") or {}
    ref = storage.get("imageReference") or {}
    disk = (storage.get("osDisk") or {}).get("managedDisk") or {}
    security = (vm.get("securityProfile") or {}).get("securityType")
    zones = vm.get("zones") or []
    urn = ":".join(ref.get(k) or "?" for k in ("publisher", "offer", "sku", "version"))
    rows = [
        ("vm_size", (vm.get("hardwareProfile") or {}).get("vmSize") or "unknown"),
        ("location", vm.get("location") or "unknown"),
        ("image", urn),
        ("image_version", ref.get("exactVersion") or "unknown"),
        # No securityProfile: Azure's default, a VM without Trusted Launch.
        ("security_type", security or "Standard"),
        ("zone", ",".join(zones) if zones else "none"),
        ("os_disk_type", disk.get("storageAccountType") or "unknown"),
    ]
    for k, v in rows:
        print("%s\t%s" % (k, v))


def as_int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        die("az vm list-usage: '%s' is not a count" % v)


def cmd_preflight(location, parallel, usage_file, skus_dir, sizes):
    with open(usage_file) as f:
        usage = load(f, "az vm list-usage")
    free = {}
    for u in usage or []:
        name = (u.get("name") or {}).get("value")
        if name:
            free[name.lower()] = (as_int(u.get("limit")) - as_int(u.get("currentValue")),
                                  u.get("localName") or (u.get("name") or {}).get("localizedValue") or name)
    problems, rows, vcpus_of = [], [], {}
    for size in sizes:
        with open(os.path.join(skus_dir, size + ".json")) as f:
            skus = load(f, "az vm list-skus --size %s" % size)
        sku = next((s for s in skus or [] if s.get("resourceType") == "virtualMachines"
                    and (s.get("name") or "").lower() == size.lower()), None)
        if sku is None:
            problems.append("%s: not offered in %s" % (size, location))
            rows.append((size, "-", "-", "not offered"))
            continue
        blocked = [r for r in sku.get("restrictions") or [] if r.get("type") == "Location"]
        caps = {c.get("name"): c.get("value") for c in sku.get("capabilities") or []}
        vcpus = as_int(caps.get("vCPUs"))
        family = sku.get("family") or "?"
        if blocked:
            problems.append("%s: not available to this subscription in %s (%s)"
                            % (size, location, blocked[0].get("reasonCode", "restricted")))
            rows.append((size, family, vcpus, "restricted"))
            continue
        vcpus_of[size] = (family, vcpus)
        rows.append((size, family, vcpus, "ok"))

    # The most vCPUs that PARALLEL runs at once can hold: the largest sizes.
    def peak(sizes_vcpus):
        return sum(sorted(sizes_vcpus, reverse=True)[:parallel])
    needs = {"cores": peak([v for _, v in vcpus_of.values()])}
    for fam in {f for f, _ in vcpus_of.values()}:
        needs[fam.lower()] = peak([v for f, v in vcpus_of.values() if f == fam])
    for key, need in sorted(needs.items()):
        if key not in free:
            print("%s: warning: az vm list-usage has no quota line for %s; not checked" % (PROG, key),
                  file=sys.stderr)
            continue
        have, label = free[key]
        if need > have:
            problems.append("quota '%s' in %s: %d vCPUs needed at once, %d free"
                            % (label, location, need, have))
    for r in rows:
        print("%s\t%s\t%s\t%s" % r)
    for p in problems:
        print("%s: preflight: %s" % (PROG, p), file=sys.stderr)
    sys.exit(1 if problems else 0)


def cmd_price(size, location):
    page = load(sys.stdin, "the Retail Prices API")
    if not isinstance(page, dict) or "Items" not in page:
        die("%s: the Retail Prices API answered without Items" % size)
    for r in page["Items"]:
        if (r.get("armSkuName") == size and r.get("unitOfMeasure") == "1 Hour"
                and r.get("type", "Consumption") == "Consumption"
                and "Windows" not in r.get("productName", "")
                and not any(w in r.get("meterName", "") for w in ("Spot", "Low Priority"))):
            print("%s\t%s\t%s %s/hour\t%s\t%s" % (
                size, location, r["retailPrice"], r.get("currencyCode", "USD"),
                r.get("effectiveStartDate", "")[:10], r.get("productName", "")))
    if page.get("NextPageLink"):
        print("next\t%s" % page["NextPageLink"])


def main(argv):
    if not argv:
        die("az_json.py: no command", 2)
    cmd, args = argv[0], argv[1:]
    if cmd == "tags" and not args:
        cmd_tags()
    elif cmd == "running-deployments" and not args:
        cmd_running_deployments()
    elif cmd == "vm-facts" and not args:
        cmd_vm_facts()
    elif cmd == "preflight" and len(args) >= 5 and args[1].isdigit():
        cmd_preflight(args[0], int(args[1]), args[2], args[3], args[4:])
    elif cmd == "size" and len(args) == 1:
        print(canonical_size(args[0]))
    elif cmd == "price" and len(args) == 2:
        cmd_price(args[0], args[1])
    else:
        die("az_json.py: bad usage: %s" % " ".join(argv), 2)


if __name__ == "__main__":
    main(sys.argv[1:])
