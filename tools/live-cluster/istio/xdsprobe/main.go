// xdsprobe: a fake sidecar for the live test (tests/live/xds.ts). It connects to istiod's plaintext ADS
// port as the istio-proxy of one pod, asks for clusters, endpoints, listeners and routes the way Envoy
// does (state of the world, every response ACKed), and prints what istiod pushed as one JSON object:
//
//	{"node": {...}, "clusters": [...], "endpoints": [...], "listeners": [...], "routes": [...]}
//
// each resource in Envoy's proto-JSON (snake_case field names, Any fields with their "@type"). Istio's
// own extension types are registered (istio.io/istio/pkg/config/xds); an Any whose type is still unknown
// is printed as {"@type": <url>, "value": {}} rather than failing.
//
//	xdsprobe -addr 127.0.0.1:15010 -pod pod.json   (the pod as the API server returns it; "-" = stdin)
//	xdsprobe -node -pod pod.json                   (only the node, as JSON: id, cluster, metadata; no istiod)
//	xdsprobe -watch -pod pod.json                  ({"routes": [...]} once, then after every route push)
//
// -node is how tools/live-cluster/grpcsplit (a proxyless gRPC client) announces itself as the same pod:
// one definition of the node.
//
// The node is what istio-agent would announce for that pod (istio pkg/bootstrap GetNodeMetaData): id
// sidecar~<podIP>~<pod>.<ns>~<ns>.svc.cluster.local, metadata from the injected istio-proxy container's
// ISTIO_META_* / ISTIO_METAJSON_* env, the pod's labels, annotations, name, namespace, service account and
// IP, and ISTIO_VERSION = the proxy image's tag. A wrong node gets a different (smaller) config without
// any error, which is why the test asserts that what it inspects exists.
//
// Exit: 0 with the JSON once every type has answered and istiod has been quiet for -settle; 1 on a
// connection or protocol error, or when the types have not all answered within -timeout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	// Registers the Envoy extension types istiod may put in an Any, and Istio's stats filter config.
	_ "istio.io/api/envoy/extensions/stats"
	_ "istio.io/istio/pkg/config/xds"
)

const (
	typeCluster  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeEndpoint = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	typeListener = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeRoute    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// pod: the fields of a Kubernetes Pod the node is built from.
type pod struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		ServiceAccountName string      `json:"serviceAccountName"`
		NodeName           string      `json:"nodeName"`
		Containers         []container `json:"containers"`
		InitContainers     []container `json:"initContainers"`
	} `json:"spec"`
	Status struct {
		PodIP  string `json:"podIP"`
		HostIP string `json:"hostIP"`
		PodIPs []struct {
			IP string `json:"ip"`
		} `json:"podIPs"`
	} `json:"status"`
}

type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Env   []struct {
		Name      string `json:"name"`
		Value     string `json:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
		} `json:"valueFrom"`
	} `json:"env"`
}

// env: the istio-proxy container's environment, fieldRefs resolved from the pod (the downward API).
func (p *pod) env() (map[string]string, string, error) {
	for _, c := range append(append([]container{}, p.Spec.Containers...), p.Spec.InitContainers...) {
		if c.Name != "istio-proxy" {
			continue
		}
		out := map[string]string{}
		for _, e := range c.Env {
			v := e.Value
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
				switch e.ValueFrom.FieldRef.FieldPath {
				case "metadata.name":
					v = p.Metadata.Name
				case "metadata.namespace":
					v = p.Metadata.Namespace
				case "spec.serviceAccountName":
					v = p.Spec.ServiceAccountName
				case "spec.nodeName":
					v = p.Spec.NodeName
				case "status.podIP":
					v = p.Status.PodIP
				case "status.hostIP":
					v = p.Status.HostIP
				}
			}
			out[e.Name] = v
		}
		return out, c.Image, nil
	}
	return nil, "", fmt.Errorf("pod %s/%s has no istio-proxy container", p.Metadata.Namespace, p.Metadata.Name)
}

// node: what istio-agent announces for the pod (istio pkg/bootstrap/config.go GetNodeMetaData).
func (p *pod) node() (*core.Node, error) {
	if p.Status.PodIP == "" {
		return nil, fmt.Errorf("pod %s/%s has no IP yet", p.Metadata.Namespace, p.Metadata.Name)
	}
	env, image, err := p.env()
	if err != nil {
		return nil, err
	}
	meta := map[string]any{}
	for k, v := range env {
		if after, ok := strings.CutPrefix(k, "ISTIO_META_"); ok {
			meta[after] = v
		}
	}
	for k, v := range env {
		if strings.HasPrefix(k, "ISTIO_METAJSON_") {
			if err := json.Unmarshal([]byte(v), &meta); err != nil {
				return nil, fmt.Errorf("env %s: %v", k, err)
			}
		}
	}
	labels := map[string]any{}
	for k, v := range p.Metadata.Labels {
		if k != "pod-template-hash" { // istio-agent drops it (DefaultDeploymentUniqueLabelKey)
			labels[k] = v
		}
	}
	annotations := map[string]any{}
	for k, v := range p.Metadata.Annotations {
		annotations[k] = v
	}
	ips := []string{}
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 {
		ips = []string{p.Status.PodIP}
	}
	tag := image[strings.LastIndex(image, ":")+1:]
	meta["LABELS"] = labels
	meta["ANNOTATIONS"] = annotations
	meta["NAME"] = p.Metadata.Name
	meta["NAMESPACE"] = p.Metadata.Namespace
	meta["SERVICE_ACCOUNT"] = p.Spec.ServiceAccountName
	meta["INSTANCE_IPS"] = strings.Join(ips, ",")
	meta["ISTIO_VERSION"] = tag
	md, err := structpb.NewStruct(meta)
	if err != nil {
		return nil, err
	}
	ns := p.Metadata.Namespace
	app := p.Metadata.Labels["app"]
	return &core.Node{
		Id:       fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", p.Status.PodIP, p.Metadata.Name, ns, ns),
		Cluster:  fmt.Sprintf("%s.%s", app, ns),
		Metadata: md,
	}, nil
}

// lenient: the global registry, and for an Any of a type it lacks, an empty message (printed as
// {"@type": <url>, "value": {}}) instead of an error.
type lenient struct{}

func (lenient) FindMessageByName(n protoreflect.FullName) (protoreflect.MessageType, error) {
	return protoregistry.GlobalTypes.FindMessageByName(n)
}

func (lenient) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if t, err := protoregistry.GlobalTypes.FindMessageByURL(url); err == nil {
		return t, nil
	}
	return (&emptypb.Empty{}).ProtoReflect().Type(), nil
}

func (lenient) FindExtensionByName(n protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByName(n)
}

func (lenient) FindExtensionByNumber(m protoreflect.FullName, f protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByNumber(m, f)
}

// state: the last response of each type, and what was asked for.
type state struct {
	resources map[string][]*anypb.Any
	names     map[string][]string // EDS / RDS resource names last requested
	seen      map[string]bool
}

// edsNames: the EDS clusters' service names (what Envoy asks EDS for).
func edsNames(rs []*anypb.Any) ([]string, error) {
	var names []string
	for _, r := range rs {
		c := &cluster.Cluster{}
		if err := r.UnmarshalTo(c); err != nil {
			return nil, err
		}
		if c.GetType() != cluster.Cluster_EDS {
			continue
		}
		n := c.GetEdsClusterConfig().GetServiceName()
		if n == "" {
			n = c.GetName()
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// rdsNames: the route configurations the listeners' HTTP connection managers name.
func rdsNames(rs []*anypb.Any) ([]string, error) {
	set := map[string]bool{}
	for _, r := range rs {
		l := &listener.Listener{}
		if err := r.UnmarshalTo(l); err != nil {
			return nil, err
		}
		chains := append([]*listener.FilterChain{}, l.GetFilterChains()...)
		if l.GetDefaultFilterChain() != nil {
			chains = append(chains, l.GetDefaultFilterChain())
		}
		for _, fc := range chains {
			for _, f := range fc.GetFilters() {
				tc := f.GetTypedConfig()
				if tc == nil || tc.GetTypeUrl() != "type.googleapis.com/"+string((&hcm.HttpConnectionManager{}).ProtoReflect().Descriptor().FullName()) {
					continue
				}
				m := &hcm.HttpConnectionManager{}
				if err := tc.UnmarshalTo(m); err != nil {
					return nil, err
				}
				if n := m.GetRds().GetRouteConfigName(); n != "" {
					set[n] = true
				}
			}
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// run reads the pod's config from istiod. Without onRoutes it returns once every type has answered and istiod
// has been quiet for settle. With it (-watch) it calls onRoutes then, and again after every later route push,
// and runs until the stream fails (the caller kills it); timeout bounds only the first answer.
func run(addr string, p *pod, timeout, settle time.Duration, onRoutes func(*state) error) (map[string]any, *state, error) {
	node, err := p.node()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	firstAnswer := time.NewTimer(timeout)
	watching := false
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("ADS stream to %s: %v", addr, err)
	}
	st := &state{resources: map[string][]*anypb.Any{}, names: map[string][]string{}, seen: map[string]bool{}}
	first := true
	send := func(typ, version, nonce string, names []string) error {
		req := &discovery.DiscoveryRequest{TypeUrl: typ, VersionInfo: version, ResponseNonce: nonce, ResourceNames: names}
		if first { // Envoy sends the node on the stream's first request only
			req.Node, first = node, false
		}
		return stream.Send(req)
	}
	// Envoy's order: CDS and LDS (wildcard) first; EDS and RDS once it knows the names.
	if err := send(typeCluster, "", "", nil); err != nil {
		return nil, nil, err
	}
	if err := send(typeListener, "", "", nil); err != nil {
		return nil, nil, err
	}
	type msg struct {
		r   *discovery.DiscoveryResponse
		err error
	}
	ch := make(chan msg)
	go func() {
		for {
			r, err := stream.Recv()
			ch <- msg{r, err}
			if err != nil {
				return
			}
		}
	}()
	lastNonce := map[string]string{}
	lastVersion := map[string]string{}
	done := func() bool {
		for _, t := range []string{typeCluster, typeListener} {
			if !st.seen[t] {
				return false
			}
		}
		// EDS / RDS: answered, or nothing to ask for.
		return (st.seen[typeEndpoint] || len(st.names[typeEndpoint]) == 0) &&
			(st.seen[typeRoute] || len(st.names[typeRoute]) == 0)
	}
	quiet := time.NewTimer(time.Hour)
	for {
		select {
		case <-firstAnswer.C:
			missing := []string{}
			for _, t := range []string{typeCluster, typeEndpoint, typeListener, typeRoute} {
				if !st.seen[t] {
					missing = append(missing, t[strings.LastIndex(t, ".")+1:])
				}
			}
			return nil, nil, fmt.Errorf("istiod at %s did not answer within %s for node %s (no %s)",
				addr, timeout, node.Id, strings.Join(missing, ", "))
		case <-quiet.C:
			if onRoutes == nil {
				return map[string]any{"id": node.Id, "cluster": node.Cluster}, st, nil
			}
			if !watching {
				watching = true
				firstAnswer.Stop()
				if err := onRoutes(st); err != nil {
					return nil, nil, err
				}
			}
		case m := <-ch:
			if m.err != nil {
				if errors.Is(m.err, io.EOF) {
					return nil, nil, fmt.Errorf("istiod closed the stream")
				}
				return nil, nil, fmt.Errorf("ADS stream to %s: %v", addr, m.err)
			}
			r := m.r
			st.resources[r.TypeUrl] = r.Resources
			st.seen[r.TypeUrl] = true
			lastNonce[r.TypeUrl], lastVersion[r.TypeUrl] = r.Nonce, r.VersionInfo
			// ACK (same names as requested)
			if err := send(r.TypeUrl, r.VersionInfo, r.Nonce, st.names[r.TypeUrl]); err != nil {
				return nil, nil, err
			}
			// New clusters or listeners: ask EDS / RDS for the names they now use.
			for typ, follow := range map[string]struct {
				of    string
				names func([]*anypb.Any) ([]string, error)
			}{typeEndpoint: {typeCluster, edsNames}, typeRoute: {typeListener, rdsNames}} {
				if r.TypeUrl != follow.of {
					continue
				}
				names, err := follow.names(r.Resources)
				if err != nil {
					return nil, nil, err
				}
				if equal(names, st.names[typ]) {
					continue
				}
				st.names[typ] = names
				if len(names) == 0 { // nothing to ask for (done() then does not wait for this type)
					continue
				}
				if err := send(typ, lastVersion[typ], lastNonce[typ], names); err != nil {
					return nil, nil, err
				}
			}
			if watching && r.TypeUrl == typeRoute {
				if err := onRoutes(st); err != nil {
					return nil, nil, err
				}
			} else if done() && !watching {
				quiet.Reset(settle)
			}
		}
	}
}

// marshal: the resources of one type as JSON values.
func marshal(rs []*anypb.Any) ([]json.RawMessage, error) {
	opts := protojson.MarshalOptions{UseProtoNames: true, Resolver: lenient{}}
	out := make([]json.RawMessage, 0, len(rs))
	for _, r := range rs {
		b, err := opts.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", r.TypeUrl, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:15010", "istiod's plaintext xDS address")
	podFile := flag.String("pod", "-", "the pod's JSON as the API server returns it (- = stdin)")
	timeout := flag.Duration("timeout", 20*time.Second, "give up when istiod has not answered every type by then")
	settle := flag.Duration("settle", 200*time.Millisecond, "after every type has answered, wait this long without a push")
	nodeOnly := flag.Bool("node", false, "print only the node the pod announces (JSON: id, cluster, metadata) and exit")
	watch := flag.Bool("watch", false, "print {\"routes\": [...]} as one line once every type has answered, then again after every route push, until killed")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "xdsprobe: %v\n", err)
		os.Exit(1)
	}
	var raw []byte
	var err error
	if *podFile == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(*podFile)
	}
	if err != nil {
		fail(err)
	}
	p := &pod{}
	if err := json.Unmarshal(raw, p); err != nil {
		fail(fmt.Errorf("pod JSON: %v", err))
	}
	if *nodeOnly {
		n, err := p.node()
		if err != nil {
			fail(err)
		}
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(n)
		if err != nil {
			fail(err)
		}
		if _, err := os.Stdout.Write(append(b, '\n')); err != nil {
			fail(err)
		}
		return
	}
	if *watch {
		_, _, err := run(*addr, p, *timeout, *settle, func(st *state) error {
			routes, err := marshal(st.resources[typeRoute])
			if err != nil {
				return err
			}
			b, err := json.Marshal(map[string]any{"routes": routes})
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(append(b, '\n'))
			return err
		})
		fail(err)
	}
	node, st, err := run(*addr, p, *timeout, *settle, nil)
	if err != nil {
		fail(err)
	}
	out := map[string]any{"node": node}
	for key, typ := range map[string]string{"clusters": typeCluster, "endpoints": typeEndpoint, "listeners": typeListener, "routes": typeRoute} {
		v, err := marshal(st.resources[typ])
		if err != nil {
			fail(err)
		}
		out[key] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		fail(err)
	}
	if _, err := os.Stdout.Write(append(b, '\n')); err != nil {
		fail(err)
	}
}
