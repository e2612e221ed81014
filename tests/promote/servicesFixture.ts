/** A demo service, a described one with its own weight, a described gRPC one following the stack's weight. */
export const SERVICES_CONFIG = JSON.stringify([
    "hello",
    {
        name: "reviews",
        port: 8080,
        stable: { image: "reg.example/shop/reviews:1.0" },
        canary: { image: "reg.example/shop/reviews:1.1" },
        canaryWeight: 0,
    },
    {
        name: "ratings",
        port: 9090,
        protocol: "grpc",
        stable: { image: "reg.example/shop/ratings:2.0" },
        canary: { image: "reg.example/shop/ratings:2.1" },
    },
]);
