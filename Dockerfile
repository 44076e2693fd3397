# Container image of the ivschat-operator binary.
#
# The build stage compiles on Alpine, whose native Rust target is musl, so the
# binary is linked fully statically (musl targets link the C runtime
# statically by default). A static musl binary needs no glibc at run time,
# which avoids glibc's static-linking limits (NSS for name resolution), and it
# runs on distroless/static, which has no shell or package manager but carries
# a CA bundle for TLS to AWS and a non-root user (uid 65532).
#
# Build: docker build -t ivschat-operator .
#
# NOTE: no test builds this image, because the test machines have no container
# runtime.

FROM docker.io/library/rust:1.95-alpine AS build
# aws-lc-sys, the TLS crypto library, compiles C code and may need cmake and perl.
RUN apk add --no-cache build-base cmake perl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY benches benches
COPY src src
RUN cargo build --release --locked --bin ivschat-operator \
    && cp target/release/ivschat-operator /ivschat-operator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /ivschat-operator /usr/local/bin/ivschat-operator
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/ivschat-operator"]
CMD ["controller"]
