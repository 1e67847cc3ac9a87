import { type FieldProblem, SilopoolError } from '../core/errors.ts';

/**
 * A tenant's stored model rules name unknown fields or contradict the model's schema: an operator mistake
 * (settings are checked where they enter, so only a record changed behind the API gets here), not bad input.
 * Paths are the settings' own (`/config/rules/finance/ranges/discountRate`).
 */
export class TenantRulesError extends SilopoolError {
  readonly problems: FieldProblem[];
  constructor(model: string, problems: FieldProblem[]) {
    const errors = problems.map((p) => ({ ...p, path: `/config/rules/${model}${p.path}` }));
    super(
      'tenant_settings_invalid',
      503,
      `The tenant's rules for model ${model} are not valid and are not used until an operator corrects them: ${errors.map((p) => `${p.path} ${p.message}`).join('; ')}`,
      { details: { model, errors } },
    );
    this.problems = errors;
  }
}

export class UnknownModelError extends SilopoolError {
  constructor(name: string, known: string[]) {
    super('unknown_model', 404, `Model ${name} was not found; known models: ${known.join(', ')}.`, {
      details: { model: name },
    });
  }
}

/** A release's code breaks the model contract (schema, sheets, summary units): it is refused at load. */
export class ReleaseContractError extends SilopoolError {
  constructor(release: string, problems: FieldProblem[]) {
    super(
      'release_invalid',
      422,
      `Release ${release} cannot be loaded: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
      { details: { release, errors: problems } },
    );
  }
}

/** A tenant's job of a variant reached a lane that may not run it (a shared one, or another tenant's). */
export class VariantUnavailableError extends SilopoolError {
  constructor(variant: string) {
    super(
      'variant_unavailable',
      409,
      `Model variant ${variant} runs only in its tenant's dedicated lanes, with a release that carries it.`,
      { details: { variant } },
    );
  }
}

/** A tenant is pinned to a model version that no loaded release carries. */
export class PinnedVersionUnavailableError extends SilopoolError {
  constructor(model: string, version: string) {
    super(
      'pinned_version_unavailable',
      409,
      `The tenant is pinned to ${model} ${version}, which no release carries: unpin it or publish a release with that version.`,
      { details: { model, version } },
    );
  }
}
