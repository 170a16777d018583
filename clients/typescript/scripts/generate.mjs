// Copies proto/stepflow/v1/stepflow.proto from the repository into this package (it is loaded at run time by
// @grpc/proto-loader) and generates its TypeScript types into src/gen with proto-loader-gen-types. Neither is
// committed. STEPFLOW_PROTO_DIR overrides where the proto is read from.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const protoRoot = process.env.STEPFLOW_PROTO_DIR ?? resolve(here, '..', '..', 'proto');
const target = join(here, 'proto', 'stepflow', 'v1');
mkdirSync(target, { recursive: true });
copyFileSync(join(protoRoot, 'stepflow', 'v1', 'stepflow.proto'), join(target, 'stepflow.proto'));

rmSync(join(here, 'src', 'gen'), { recursive: true, force: true });
const generator = join(here, 'node_modules', '@grpc', 'proto-loader', 'build', 'bin', 'proto-loader-gen-types.js');
// The file comes first: --includeDirs is an array option and would swallow it.
execFileSync(process.execPath, [generator, 'stepflow/v1/stepflow.proto', '--longs=Number', '--enums=String', '--defaults', '--oneofs',
  '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js', `--outDir=${join(here, 'src', 'gen')}`,
  `--includeDirs=${join(here, 'proto')}`], { stdio: 'inherit' });
