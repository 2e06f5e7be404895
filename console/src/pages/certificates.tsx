import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { Certificate } from '../api/types.js';
import { href } from '../router.js';
import { Confirm, ErrorText, Pager, Section, Select, Status, describe, formatTime, useLoad } from '../ui.js';

/** certStatus of docs/PROTOCOL.md (certificates). */
const STATUS = ['valid', 'revoked', 'expired', 'not yet valid'];
const PAGE_SIZE = 20;
const REASONS = [
  { value: '0', label: 'Unspecified' },
  { value: '1', label: 'Key compromise' },
  { value: '3', label: 'Affiliation changed' },
  { value: '4', label: 'Superseded' },
  { value: '5', label: 'Cessation of operation' },
];

/** Device certificates: list, expiring soon, revoke with confirmation, CRL download (docs/CONSOLE.md). */
export function Certificates({ session }: { session: Session }): JSX.Element {
  const [expiring, setExpiring] = useState('');
  const [pageNo, setPageNo] = useState(1);
  const [revoking, setRevoking] = useState<Certificate | null>(null);
  const [reason, setReason] = useState('0');
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const list = useLoad(
    () =>
      session.call<Certificate[]>(endpoints.certificateList, { pageNo, pageSize: PAGE_SIZE, expiringWithinDays: expiring || undefined }),
    [session, pageNo, expiring],
  );

  const revoke = async (ok: boolean) => {
    const cert = revoking;
    setRevoking(null);
    if (!ok || !cert) return;
    setError('');
    try {
      await session.call(endpoints.certificateRevoke, { assetId: cert.assetId }, { certSn: cert.certSN, reason: Number(reason) });
      setMessage(`Certificate ${cert.certSN} revoked`);
      list.reload();
    } catch (err) {
      setError(describe(err));
    }
  };

  return (
    <>
      <h1>Certificates</h1>
      <Section title="Revocation lists">
        <p>
          Download the CRL of an issuing authority (DER):{' '}
          <a href="/enos/CA/crl/RSA" download="RSA.crl">
            RSA CRL
          </a>{' '}
          ·{' '}
          <a href="/enos/CA/crl/ECC" download="ECC.crl">
            ECC CRL
          </a>
        </p>
      </Section>
      <Section title="Device certificates">
        <div class="filters">
          <Select
            label="Show"
            value={expiring}
            onChange={(v) => {
              setPageNo(1);
              setExpiring(v);
            }}
            options={[
              { value: '', label: 'All certificates' },
              { value: '30', label: 'Expiring within 30 days' },
              { value: '90', label: 'Expiring within 90 days' },
            ]}
          />
        </div>
        {message && <Status text={message} />}
        <ErrorText text={list.error || error} />
        <table>
          <caption class="sr-only">Certificates</caption>
          <thead>
            <tr>
              <th scope="col">Serial</th>
              <th scope="col">Device</th>
              <th scope="col">Authority</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {(list.data?.data ?? []).map((c) => (
              <tr key={c.certSN} data-cert-sn={c.certSN}>
                <td>
                  <code>{c.certSN}</code>
                </td>
                <td>{c.assetId ? <a href={href('devices', c.assetId)}>{c.deviceKey ?? c.assetId}</a> : ''}</td>
                <td>{c.issueAuthority}</td>
                <td>
                  <span class={`badge cert-${c.certStatus}`} data-testid="cert-status">
                    {STATUS[c.certStatus] ?? c.certStatus}
                  </span>
                </td>
                <td>{formatTime(c.expireDate)}</td>
                <td>
                  {c.certStatus === 0 && c.assetId && (
                    <button type="button" class="danger" onClick={() => setRevoking(c)} aria-label={`Revoke certificate ${c.certSN}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager pageNo={pageNo} pageSize={PAGE_SIZE} total={list.data?.pagination?.totalSize ?? 0} onPage={setPageNo} />
      </Section>
      <Confirm open={revoking !== null} title="Revoke this certificate?" confirmLabel="Revoke" onClose={(ok) => void revoke(ok)}>
        <p>
          Certificate <code>{revoking?.certSN}</code> of device <code>{revoking?.deviceKey}</code> goes on the CRL and the device can no
          longer connect with it. This cannot be undone.
        </p>
        <Select label="Reason" value={reason} onChange={setReason} options={REASONS} />
      </Confirm>
    </>
  );
}
