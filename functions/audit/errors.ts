// Typed errors of the audit store. DynamoDB's own errors are translated in one place
// (`AuditStore.send`); a failed condition is not an error but a typed outcome of the call that
// asked for it (`claimIntent` → { claimed: false }, `completeIntent` → false, ...).

export class AuditStoreError extends Error {
  /** The DynamoDB operation that failed, e.g. `PutItem`. */
  readonly operation: string;
  /** The SDK error name, e.g. `ProvisionedThroughputExceededException`, `ResourceNotFoundException`. */
  readonly awsCode: string;
  constructor(message: string, details: { operation: string; awsCode: string }, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AuditStoreError';
    this.operation = details.operation;
    this.awsCode = details.awsCode;
  }
}

/** The table does not exist (or the role may not see it). */
export class AuditTableMissingError extends AuditStoreError {
  constructor(tableName: string, options?: ErrorOptions) {
    super(`The audit table "${tableName}" does not exist or is not accessible; create it (npx cdk deploy, or the local runner creates it at DYNAMODB_ENDPOINT).`, { operation: 'DescribeTable', awsCode: 'ResourceNotFoundException' }, options);
    this.name = 'AuditTableMissingError';
  }
}

/** A record read back does not have the shape this version writes. */
export class AuditRecordInvalidError extends AuditStoreError {
  constructor(key: string, problems: string, options?: ErrorOptions) {
    super(`Audit record ${key} is not valid: ${problems}`, { operation: 'Read', awsCode: 'InvalidRecord' }, options);
    this.name = 'AuditRecordInvalidError';
  }
}
