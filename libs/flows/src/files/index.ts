// Flow files on disk alone: the CLI's validate and test load this without the rest of the domain.
export {
  FLOW_FILE_SUFFIX,
  describeReadError,
  flowFileRef,
  listFlowFiles,
  parseJsonText,
  readFlowFile,
} from './flow-files';
export type { FlowFileError, FlowFileRef, LoadedFlowFile } from './flow-files';
