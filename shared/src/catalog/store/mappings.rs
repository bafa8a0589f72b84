//! The SQL of SKU mappings: reads into [`Mapping`], the resolution and suggestion queries, and
//! the bulk import's one-statement upsert.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::catalog::events::MappingRef;
use crate::catalog::model::{
    Checked, Error, LookupColumns, Mapping, Resolution, Suggestion, Valid, Writer, resolution_status,
};
use crate::platform::error::{FieldError, unique_violation};
use crate::platform::tenant::TenantId;

const SELECT: &str =
    "SELECT m.id, m.kind, m.channel, m.identifier, m.variant_id, p.sku, m.product_id, m.note,
        m.created_at, m.updated_at
   FROM sku_mappings m JOIN products p ON p.id = m.product_id";

fn mapping(r: &Row) -> Mapping {
    Mapping {
        id: r.get(0),
        kind: r.get(1),
        channel: r.get(2),
        identifier: r.get(3),
        variant_id: r.get(4),
        platform_sku: r.get(5),
        product_id: r.get(6),
        note: r.get(7),
        created_at: r.get(8),
        updated_at: r.get(9),
    }
}

/// One mapping of the tenant the transaction is scoped to, locked for update when `lock`.
pub async fn load(tx: &Transaction<'_>, id: Uuid, lock: bool) -> Result<Mapping, Error> {
    let lock = if lock { " FOR UPDATE OF m" } else { "" };
    tx.query_opt(&format!("{SELECT} WHERE m.id = $1{lock}"), &[&id])
        .await?
        .map(|r| mapping(&r))
        .ok_or_else(|| Error::NotFound(format!("SKU mapping {id}")))
}

/// The filters of a mapping listing (`like`: a contains-pattern of the lowercased identifier).
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub kind: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub like: Option<String>,
    pub platform_sku: Option<&'a str>,
}

/// One page of the tenant's mappings, newest first (`limit + 1` rows: the pager's look-ahead).
pub async fn list(
    tx: &Transaction<'_>,
    tenant: TenantId,
    f: &Filter<'_>,
    cursor: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Mapping>, Error> {
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE m.tenant_id = $1 AND ($2::text IS NULL OR m.kind = $2)
                   AND ($3::text IS NULL OR m.channel = $3) AND ($4::text IS NULL OR m.identifier_key LIKE $4)
                   AND ($5::text IS NULL OR lower(p.sku) = lower($5)) AND ($6::uuid IS NULL OR m.id < $6)
                 ORDER BY m.id DESC LIMIT $7"
            ),
            &[&tenant.as_uuid(), &f.kind, &f.channel, &f.like, &f.platform_sku, &cursor, &(limit + 1)],
        )
        .await?;
    Ok(rows.iter().map(mapping).collect())
}

/// Every mapping of the tenant, in export order.
pub async fn export(
    tx: &Transaction<'_>,
    tenant: TenantId,
    kind: Option<&str>,
    channel: Option<&str>,
) -> Result<Vec<Mapping>, Error> {
    let rows = tx
        .query(
            &format!(
                "{SELECT} WHERE m.tenant_id = $1 AND ($2::text IS NULL OR m.kind = $2)
                   AND ($3::text IS NULL OR m.channel = $3)
                 ORDER BY m.kind, m.identifier_key, m.channel_key, m.variant_key"
            ),
            &[&tenant.as_uuid(), &kind, &channel],
        )
        .await?;
    Ok(rows.iter().map(mapping).collect())
}

/// Inserts one mapping; a 409 when its identifier is already mapped.
pub async fn insert(
    tx: &Transaction<'_>,
    by: Writer,
    id: Uuid,
    product: Uuid,
    c: &Checked,
) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO sku_mappings (id, tenant_id, kind, channel, identifier, variant_id, product_id, note, created_by,
                                   created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        &[
            &id,
            &by.tenant.as_uuid(),
            &c.kind,
            &c.channel,
            &c.identifier,
            &c.variant_id,
            &product,
            &c.note,
            &by.user,
            &by.now,
        ],
    )
    .await
    .map_err(|e| if unique_violation(&e).is_some() { c.exists_error() } else { e.into() })?;
    Ok(())
}

pub async fn set_note(
    tx: &Transaction<'_>,
    id: Uuid,
    note: &Option<String>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    tx.execute("UPDATE sku_mappings SET note = $2, updated_at = $3 WHERE id = $1", &[&id, note, &now])
        .await?;
    Ok(())
}

pub async fn set_product(tx: &Transaction<'_>, id: Uuid, product: Uuid) -> Result<(), Error> {
    tx.execute("UPDATE sku_mappings SET product_id = $2 WHERE id = $1", &[&id, &product]).await?;
    Ok(())
}

pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<(), Error> {
    tx.execute("DELETE FROM sku_mappings WHERE id = $1", &[&id]).await?;
    Ok(())
}

/// Resolves each lookup for `tenant` in one query, best match first (see the context's docs).
pub async fn resolve(
    tx: &Transaction<'_>,
    tenant: TenantId,
    c: &LookupColumns,
) -> Result<Vec<Resolution>, Error> {
    let rows = tx
        .query(
            "SELECT i.n, r.product_id, r.matched_by, r.mapping_id, p.sku, p.name, p.active, ci.tenant_sku, ci.name,
                    p.approval_gated
               FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS i(n, sku, channel, pid, variant)
               LEFT JOIN LATERAL (
                   SELECT c.product_id, c.matched_by, c.mapping_id FROM (
                       SELECT m.product_id, 'channel_product'::text AS matched_by, m.id AS mapping_id,
                              CASE WHEN m.variant_key <> '' THEN 1 ELSE 2 END AS rank
                         FROM sku_mappings m
                        WHERE i.pid IS NOT NULL AND i.channel IS NOT NULL AND m.tenant_id = $6
                          AND m.namespace = 'product' AND m.identifier_key = lower(i.pid)
                          AND m.channel_key = i.channel AND m.variant_key IN ('', COALESCE(i.variant, ''))
                       UNION ALL
                       SELECT m.product_id, m.kind, m.id, CASE WHEN m.channel_key <> '' THEN 3 ELSE 4 END
                         FROM sku_mappings m
                        WHERE i.sku IS NOT NULL AND m.tenant_id = $6 AND m.namespace = 'sku'
                          AND m.identifier_key = lower(i.sku) AND m.channel_key IN ('', COALESCE(i.channel, ''))
                       UNION ALL
                       SELECT x.product_id, 'tenant_sku', NULL, 5 FROM catalog_items x
                        WHERE i.sku IS NOT NULL AND x.tenant_id = $6 AND lower(x.tenant_sku) = lower(i.sku)
                       UNION ALL
                       SELECT x.product_id, 'platform_sku', NULL, 6
                         FROM catalog_items x JOIN products pp ON pp.id = x.product_id
                        WHERE i.sku IS NOT NULL AND x.tenant_id = $6 AND lower(pp.sku) = lower(i.sku)
                   ) c ORDER BY c.rank LIMIT 1
               ) r ON true
               LEFT JOIN products p ON p.id = r.product_id AND p.review_status = 'approved'
               LEFT JOIN catalog_items ci ON ci.tenant_id = $6 AND ci.product_id = r.product_id
              ORDER BY i.n",
            &[&c.n, &c.skus, &c.channels, &c.product_ids, &c.variants, &tenant.as_uuid()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let product: Option<Uuid> = r.get(1);
            Resolution {
                index: r.get::<_, i32>(0) as usize,
                status: resolution_status(product, r.get(6)).to_owned(),
                platform_sku: r.get(4),
                product_id: product,
                product_name: r.get(5),
                matched_by: r.get(2),
                mapping_id: r.get(3),
                tenant_sku: r.get(7),
                tenant_name: r.get(8),
                approval_gated: r.get(9),
            }
        })
        .collect())
}

/// Active approved products ranked by how much `sku` looks like their platform SKU, their name,
/// the tenant's SKU for them and the tenant's mappings to them (pg_trgm), best first.
pub async fn suggestions(
    tx: &Transaction<'_>,
    tenant: TenantId,
    sku: &str,
    limit: i64,
) -> Result<Vec<Suggestion>, Error> {
    let rows = tx
        .query(
            "WITH mapped AS (
                 -- The tenant's identifiers that look like it (the trigram index finds them: at
                 -- least pg_trgm.similarity_threshold alike), best per product.
                 SELECT DISTINCT ON (m.product_id) m.product_id, similarity(m.identifier_key, lower($1)) AS score,
                        m.identifier
                   FROM sku_mappings m
                  WHERE m.tenant_id = $2 AND m.identifier_key % lower($1)
                  ORDER BY m.product_id, 2 DESC
             )
             SELECT id, sku, name, score, matched_on, matched_value FROM (
                 SELECT p.id, p.sku, p.name, best.score, best.matched_on, best.matched_value
                   FROM products p
                   CROSS JOIN LATERAL (
                       SELECT s.score, s.matched_on, s.matched_value FROM (
                           SELECT similarity(lower(p.sku), lower($1)) AS score, 'platform_sku' AS matched_on,
                                  p.sku AS matched_value, 1 AS pref
                           UNION ALL
                           SELECT similarity(lower(p.name), lower($1)), 'name', p.name, 2
                           UNION ALL
                           SELECT similarity(lower(x.tenant_sku), lower($1)), 'tenant_sku', x.tenant_sku, 3
                             FROM catalog_items x WHERE x.tenant_id = $2 AND x.product_id = p.id
                           UNION ALL
                           SELECT x.score, 'mapping', x.identifier, 4 FROM mapped x WHERE x.product_id = p.id
                       ) s ORDER BY s.score DESC, s.pref LIMIT 1
                   ) best
                  WHERE p.review_status = 'approved' AND p.active
             ) ranked
             WHERE score > 0
             ORDER BY score DESC, sku
             LIMIT $3",
            &[&sku, &tenant.as_uuid(), &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Suggestion {
            product_id: r.get(0),
            platform_sku: r.get(1),
            name: r.get(2),
            score: r.get(3),
            matched_on: r.get(4),
            matched_value: r.get(5),
        })
        .collect())
}

/// The bulk import's rows as the statements take them: one array per column.
struct Columns {
    ids: Vec<Uuid>,
    kinds: Vec<String>,
    channels: Vec<Option<String>>,
    idents: Vec<String>,
    variants: Vec<Option<String>>,
    product_ids: Vec<Uuid>,
    notes: Vec<Option<String>>,
}

impl Columns {
    fn of(valid: &[Valid]) -> Self {
        let c = |f: fn(&Checked) -> String| valid.iter().map(|v| f(&v.mapping)).collect::<Vec<_>>();
        let o = |f: fn(&Checked) -> Option<String>| valid.iter().map(|v| f(&v.mapping)).collect::<Vec<_>>();
        Self {
            ids: valid.iter().map(|_| Uuid::now_v7()).collect(),
            kinds: c(|m| m.kind.clone()),
            channels: o(|m| m.channel.clone()),
            idents: c(|m| m.identifier.clone()),
            variants: o(|m| m.variant_id.clone()),
            product_ids: valid.iter().map(|v| v.product_id).collect(),
            notes: o(|m| m.note.clone()),
        }
    }
}

/// The product each existing mapping with the same identifier as one of `valid` points at now
/// (mapping id → product id).
pub async fn current_products(
    tx: &Transaction<'_>,
    tenant: TenantId,
    valid: &[Valid],
) -> Result<HashMap<Uuid, Uuid>, Error> {
    let c = Columns::of(valid);
    Ok(tx
        .query(
            "SELECT m.id, m.product_id
               FROM sku_mappings m
               JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS k(kind, channel, identifier, variant)
                 ON m.namespace = CASE WHEN k.kind = 'channel_product' THEN 'product' ELSE 'sku' END
                AND m.identifier_key = lower(k.identifier) AND m.channel_key = COALESCE(k.channel, '')
                AND m.variant_key = COALESCE(k.variant, '')
              WHERE m.tenant_id = $1",
            &[&tenant.as_uuid(), &c.kinds, &c.channels, &c.idents, &c.variants],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Inserts `valid` in one statement, re-pointing existing mappings with the same identifier;
/// unchanged rows are not rewritten. Returns each written mapping and whether it is new.
pub async fn upsert(
    tx: &Transaction<'_>,
    by: Writer,
    valid: &[Valid],
) -> Result<Vec<(MappingRef, bool)>, Error> {
    let c = Columns::of(valid);
    let applied = tx
        .query(
            "INSERT INTO sku_mappings AS m (id, tenant_id, kind, channel, identifier, variant_id, product_id, note,
                                            created_by, created_at, updated_at)
             SELECT i.id, $1, i.kind, i.channel, i.identifier, i.variant, i.product_id, i.note, $2, $3, $3
               FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::uuid[], $10::text[])
                    AS i(id, kind, channel, identifier, variant, product_id, note)
             ON CONFLICT (tenant_id, namespace, identifier_key, channel_key, variant_key) DO UPDATE
                SET product_id = EXCLUDED.product_id, note = EXCLUDED.note, kind = EXCLUDED.kind,
                    updated_at = EXCLUDED.updated_at
              WHERE (m.product_id, m.note, m.kind) IS DISTINCT FROM (EXCLUDED.product_id, EXCLUDED.note, EXCLUDED.kind)
             RETURNING m.id, m.kind, m.channel, m.identifier, m.variant_id, m.product_id, (m.xmax = 0)",
            &[
                &by.tenant.as_uuid(),
                &by.user,
                &by.now,
                &c.ids,
                &c.kinds,
                &c.channels,
                &c.idents,
                &c.variants,
                &c.product_ids,
                &c.notes,
            ],
        )
        .await
        .map_err(|e| {
            if e.code() == Some(&tokio_postgres::error::SqlState::CARDINALITY_VIOLATION) {
                // Two rows the checks told apart, that the database's lower() does not.
                Error::Invalid(vec![FieldError::new(
                    "mappings",
                    "duplicate",
                    "two rows map the same identifier (compared without regard to case)",
                )])
            } else {
                e.into()
            }
        })?;
    Ok(applied
        .iter()
        .map(|r| {
            let m = MappingRef {
                id: r.get(0),
                kind: r.get(1),
                channel: r.get(2),
                identifier: r.get(3),
                variant_id: r.get(4),
                product_id: r.get(5),
            };
            (m, r.get::<_, bool>(6))
        })
        .collect())
}
