// grpcsplit: a proxyless gRPC client in the live fixture's mesh, for the live test
// (tests/live/grpcSplit.live.ts). It measures how istiod's routes split real RPCs between a service's
// versions, on a real xDS data plane: grpc-go's xDS resolver, which takes the listener and route
// configuration (weighted clusters, header matches) from istiod as a proxyless gRPC pod would (Istio's
// `grpc-agent` injection template: node metadata GENERATOR=grpc, istio.io/latest/blog/2021/proxyless-grpc/).
//
//	grpcsplit -xds 127.0.0.1:15010 -node node.json -target xds:///<svc>.<ns>.svc.cluster.local:<port> \
//	  -backend <podIP>:<port>=v1 -backend <podIP>:<port>=v2 ... [-n 1000] [-header x-canary=always]
//
// -node is the client pod's node (id, cluster, metadata) as `xdsprobe -node` prints it; GENERATOR=grpc is
// added here. The fixture's pods run no containers (kwok), so every -backend starts a local gRPC server
// that answers with its version, and the channel's dialer connects `<podIP>:<port>` (the endpoints istiod
// sends) to it; an endpoint with no -backend fails its RPCs. Each RPC is a grpc.health.v1 Check whose
// response header `x-version` names the version that answered. Prints one JSON object:
//
//	{"target": "...", "rpcs": 1000, "header": "x-canary=always", "counts": {"v1": 895, "v2": 105}, "errors": 0, "firstError": ""}
//
// Exit: 0 with the JSON once the N RPCs are done (failed RPCs are counted, not fatal); 1 when the channel
// sent no RPC successfully within -timeout (no route, no endpoints, istiod unreachable).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/xds"
)

const versionHeader = "x-version"

type backends map[string]string // "<podIP>:<port>" -> version

func (b backends) String() string { return fmt.Sprint(map[string]string(b)) }

func (b backends) Set(v string) error {
	addr, version, ok := strings.Cut(v, "=")
	if _, _, err := net.SplitHostPort(addr); !ok || err != nil || version == "" {
		return fmt.Errorf("want <podIP>:<port>=<version>, got %q", v)
	}
	b[addr] = version
	return nil
}

// serve starts a local gRPC server that answers every health Check with SERVING and its version in the
// response header; it returns the server's address.
func serve(version string) (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	s := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := grpc.SetHeader(ctx, metadata.Pairs(versionHeader, version)); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(s, health.NewServer()) // "" (the server as a whole) is SERVING
	go func() { _ = s.Serve(lis) }()
	return lis.Addr().String(), nil
}

// bootstrap: grpc's xDS bootstrap (grpc/proposal A27) for istiod's plaintext xDS port and the given node.
func bootstrap(xdsAddr string, node map[string]any) ([]byte, error) {
	md, _ := node["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	// istiod serves a node with GENERATOR=grpc from its gRPC generator (pilot/pkg/networking/grpcgen)
	// instead of Envoy's: listeners, routes and clusters in the shape grpc-go's xDS client takes.
	md["GENERATOR"] = "grpc"
	node["metadata"] = md
	return json.Marshal(map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      xdsAddr,
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
			"server_features": []any{"xds_v3"},
		}},
		"node": node,
	})
}

type result struct {
	Target     string         `json:"target"`
	RPCs       int            `json:"rpcs"`
	Header     string         `json:"header"`
	Counts     map[string]int `json:"counts"`
	Errors     int            `json:"errors"`
	FirstError string         `json:"firstError"`
}

func run(xdsAddr string, node map[string]any, target string, bs backends, n int, header string, timeout time.Duration) (*result, error) {
	local := map[string]string{}
	for addr, version := range bs {
		l, err := serve(version)
		if err != nil {
			return nil, err
		}
		local[addr] = l
	}
	cfg, err := bootstrap(xdsAddr, node)
	if err != nil {
		return nil, err
	}
	// The bootstrap is passed in rather than through GRPC_XDS_BOOTSTRAP(_CONFIG), which grpc reads once at
	// package init (internal/envconfig/xds.go), before this program knows the node.
	xdsResolver, err := xds.NewXDSResolverWithConfigForTesting(cfg)
	if err != nil {
		return nil, fmt.Errorf("xDS bootstrap: %v", err)
	}
	conn, err := grpc.NewClient(target,
		grpc.WithResolvers(xdsResolver),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			l, ok := local[addr]
			if !ok {
				return nil, fmt.Errorf("endpoint %s: no -backend for it", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, "tcp", l)
		}))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx := context.Background()
	if header != "" {
		k, v, _ := strings.Cut(header, "=")
		ctx = metadata.AppendToOutgoingContext(ctx, strings.ToLower(k), v)
	}
	client := healthpb.NewHealthClient(conn)
	res := &result{Target: target, RPCs: n, Header: header, Counts: map[string]int{}}
	// The first RPC waits for the channel: xDS resources fetched, endpoints connected.
	deadline := time.Now().Add(timeout)
	for i := 0; i < n; i++ {
		wait := time.Until(deadline)
		if res.Errors+sum(res.Counts) > 0 {
			wait = 5 * time.Second
		}
		rctx, cancel := context.WithTimeout(ctx, wait)
		var md metadata.MD
		_, err := client.Check(rctx, &healthpb.HealthCheckRequest{}, grpc.Header(&md), grpc.WaitForReady(sum(res.Counts) == 0))
		cancel()
		switch v := md.Get(versionHeader); {
		case err != nil:
			if sum(res.Counts) == 0 && res.Errors == 0 && errors.Is(rctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("no RPC to %s succeeded within %s: %v", target, timeout, err)
			}
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = err.Error()
			}
		case len(v) != 1:
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = fmt.Sprintf("response without one %s header: %v", versionHeader, md)
			}
		default:
			res.Counts[v[0]]++
		}
	}
	return res, nil
}

func sum(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

func main() {
	xdsAddr := flag.String("xds", "127.0.0.1:15010", "istiod's plaintext xDS address")
	nodeFile := flag.String("node", "-", "the client pod's node (id, cluster, metadata) as xdsprobe -node prints it (- = stdin)")
	target := flag.String("target", "", "xds:///<svc>.<ns>.svc.cluster.local:<port>")
	n := flag.Int("n", 1000, "RPCs to send")
	header := flag.String("header", "", "<name>=<value> sent as metadata with every RPC (e.g. x-canary=always)")
	timeout := flag.Duration("timeout", 30*time.Second, "give up when no RPC has succeeded by then")
	bs := backends{}
	flag.Var(bs, "backend", "<podIP>:<port>=<version>: an endpoint istiod may send, served locally (repeat)")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "grpcsplit: %v\n", err)
		os.Exit(1)
	}
	if *target == "" || len(bs) == 0 || *n < 1 {
		fail(errors.New("-target, at least one -backend and -n >= 1 are required"))
	}
	if *header != "" && !strings.Contains(*header, "=") {
		fail(fmt.Errorf("-header: want <name>=<value>, got %q", *header))
	}
	var raw []byte
	var err error
	if *nodeFile == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(*nodeFile)
	}
	if err != nil {
		fail(err)
	}
	node := map[string]any{}
	if err := json.Unmarshal(raw, &node); err != nil || node["id"] == nil {
		fail(fmt.Errorf("-node: want a JSON object with an id (xdsprobe -node), got %.200q", raw))
	}
	res, err := run(*xdsAddr, node, *target, bs, *n, *header, *timeout)
	if err != nil {
		fail(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "grpcsplit: %d RPCs to %s: %v, %d errors\n", *n, *target, res.Counts, res.Errors)
	if _, err := os.Stdout.Write(append(b, '\n')); err != nil {
		fail(err)
	}
}
