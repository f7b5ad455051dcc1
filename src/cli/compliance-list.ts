/** The compliance commands, named here so that the CLI loads their code only when run. */
export const COMPLIANCE_COMMANDS = [
  'ingest',
  'consent',
  'subject',
  'audit',
  'keys',
  'retention',
  'repair',
] as const;

export const COMPLIANCE_HELP = `  ingest <path...> --subject ID [--purpose P] [--basis B] [--keep LIST] [--json]
      Clean each photo and store it, encrypted, for a subject, after checking consent.
  consent grant|withdraw|show --subject ID [--purpose P] [--policy V] [--method M]
          [--collector C] [--json]
      Record, withdraw or list a subject's consent.
  subject history|export|erase|restrict <ID> [-o FILE] [--overwrite] [--lift] [--json]
      A subject's rights: their processing history, an export, erasure, restriction.
  audit verify|checkpoint|export [--checkpoints FILE] [-o FILE] [--overwrite] [--json]
      Check the audit trail's hash chain, sign its head, or write it out.
  keys rotate [--json]
      Seal every key under a new master key (no blob is rewritten).
  retention sweep [--json]
      Delete the images whose retention has run out.
  repair [--json]
      Remove what a crash left: blobs without records, records without blobs.
`;
