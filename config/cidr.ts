/** IPv4 CIDR checks on top of ipaddr.js: syntax, alignment, containment and overlap. */
import * as ipaddr from "ipaddr.js";

/** RFC 1918 ranges; ACK VPCs must lie inside one (https://www.alibabacloud.com/help/doc-detail/86500.htm). */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

function parse(block: string): [ipaddr.IPv4, number] {
    const [addr, prefix] = ipaddr.IPv4.parseCIDR(block);
    return [addr, prefix];
}

/** Why `block` is not an aligned IPv4 CIDR within the prefix bounds, or undefined if it is. */
export function problem(block: string, bounds: { minPrefix?: number; maxPrefix?: number } = {}): string | undefined {
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(block) || !ipaddr.IPv4.isValidCIDR(block)) {
        return "is not an IPv4 CIDR block such as 10.0.0.0/16";
    }
    const [addr, prefix] = parse(block);
    const network = ipaddr.IPv4.networkAddressFromCIDR(block).toString();
    if (network !== addr.toString()) {
        return `has host bits set (the network address is ${network}/${prefix})`;
    }
    const { minPrefix = 0, maxPrefix = 32 } = bounds;
    if (prefix < minPrefix || prefix > maxPrefix) {
        return `must have a prefix length from /${minPrefix} to /${maxPrefix}`;
    }
    return undefined;
}

/** True if `inner` lies entirely inside `outer`. */
export function contains(outer: string, inner: string): boolean {
    const [o, op] = parse(outer);
    const [i, ip] = parse(inner);
    return ip >= op && i.match(o, op);
}

/** True if the two blocks share any address. */
export function overlaps(a: string, b: string): boolean {
    return contains(a, b) || contains(b, a);
}
