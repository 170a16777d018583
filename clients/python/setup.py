"""Generates the gRPC stubs (stepflow/v1/*) into the build at install time; see pyproject.toml.

The proto is looked up in $STEPFLOW_PROTO_DIR, else in ../../proto (this package inside the Stepflow
repository). protoc and grpc_python_plugin come from $PROTOC / $GRPC_PYTHON_PLUGIN or the PATH (Debian:
protobuf-compiler, protobuf-compiler-grpc).
"""

import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join("stepflow", "v1", "stepflow.proto")


def generate_stubs(out_dir: str) -> None:
    proto_dir = os.environ.get("STEPFLOW_PROTO_DIR") or os.path.join(HERE, "..", "..", "proto")
    if not os.path.isfile(os.path.join(proto_dir, PROTO)):
        sys.exit(f"stepflow: {PROTO} not found under {proto_dir}; set STEPFLOW_PROTO_DIR")
    protoc = os.environ.get("PROTOC") or shutil.which("protoc")
    plugin = os.environ.get("GRPC_PYTHON_PLUGIN") or shutil.which("grpc_python_plugin")
    if not protoc or not plugin:
        sys.exit("stepflow: protoc and grpc_python_plugin are needed (Debian: protobuf-compiler, "
                 "protobuf-compiler-grpc)")
    os.makedirs(os.path.join(out_dir, "stepflow", "v1"), exist_ok=True)
    subprocess.run([protoc, f"--proto_path={proto_dir}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
                    f"--grpc_out={out_dir}", f"--plugin=protoc-gen-grpc={plugin}", os.path.join(proto_dir, PROTO)],
                   check=True)
    with open(os.path.join(out_dir, "stepflow", "v1", "__init__.py"), "w") as f:
        f.write('"""Generated from proto/stepflow/v1/stepflow.proto at build time."""\n')


class BuildPyWithStubs(build_py):
    def run(self) -> None:
        super().run()
        generate_stubs(self.build_lib)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "generate-stubs":
    generate_stubs(sys.argv[2])  # for development: python3 setup.py generate-stubs DIR
else:
    setup(cmdclass={"build_py": BuildPyWithStubs})
