import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { MAX_PAGE_SIZE } from '@edgehub/shared';
import { UsageError } from '../errors.js';
import { collectTag, intIn } from '../options.js';
import { openSession, outputFor, type GlobalOptions } from '../session.js';
import { pageFooter, productDetails, productTable, withoutSecret, type ProductView } from '../views.js';

interface CreateOptions {
  name: string;
  type: 'Device' | 'Gateway';
  dataFormat: 'Json' | 'Custom';
  biAuth?: boolean;
  dynamicActivate?: boolean;
  desc?: string;
  thingModel?: string;
  tag?: Record<string, string>;
}

export function registerProduct(program: Command): void {
  const product = program.command('product').description('create and inspect products');

  product
    .command('create')
    .description('create a product; prints its productKey')
    .requiredOption('--name <name>', 'product name')
    .addOption(new Option('--type <type>', 'product type').choices(['Device', 'Gateway']).makeOptionMandatory())
    .addOption(new Option('--data-format <format>', 'payload format').choices(['Json', 'Custom']).default('Json'))
    .option('--bi-auth', 'devices must authenticate with a certificate (mTLS)')
    .option('--dynamic-activate', 'allow dynamic activation with the product secret')
    .option('--desc <text>', 'description')
    .option('--thing-model <file.json>', 'the thing model: {measurepoints, attributes, events, services}')
    .option('--tag <key=value>', 'a product tag (repeatable)', collectTag)
    .action(async (_o: CreateOptions, cmd: Command) => {
      const o = cmd.optsWithGlobals<CreateOptions & GlobalOptions>();
      const out = outputFor(o);
      const body: Record<string, unknown> = {
        productName: { defaultValue: o.name },
        productType: o.type,
        dataFormat: o.dataFormat,
        biDirectionalAuth: o.biAuth === true,
        dynamicActivateEnabled: o.dynamicActivate === true,
      };
      if (o.desc !== undefined) body['productDesc'] = o.desc;
      if (o.tag !== undefined) body['productTags'] = o.tag;
      if (o.thingModel !== undefined) body['thingModel'] = await readThingModel(o.thingModel);
      const session = await openSession(o, out);
      const r = await session.ok<string>('POST', 'products', 'create', {}, body);
      out.result({ productKey: r.data }, () => r.data);
    });

  product
    .command('get')
    .description('show a product')
    .argument('[productKey]', 'the product key (or --product <productKey>, as device commands take it)')
    .option('--product <productKey>', 'the product key')
    .option('--show-secret', 'include the product secret')
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ product?: string; showSecret?: boolean } & GlobalOptions>();
      const out = outputFor(o);
      if (arg !== undefined && o.product !== undefined) throw new UsageError('give the productKey once: as an argument or with --product');
      const productKey = arg ?? o.product;
      if (productKey === undefined) throw new UsageError('name the product: product get <productKey> (or --product <productKey>)');
      const session = await openSession(o, out);
      const r = await session.ok<ProductView>('GET', 'products', 'get', { productKey });
      const show = o.showSecret === true;
      out.result(withoutSecret(r.data, 'productSecret', show), () => productDetails(r.data, show));
    });

  product
    .command('list')
    .description('list products, newest first')
    .option('--expression <expr>', 'filter, e.g. "productType = \'Gateway\'"')
    .option('--page <n>', 'page number', intIn(1, 1_000_000), 1)
    .option('--page-size <n>', `products per page (at most ${MAX_PAGE_SIZE})`, intIn(1, MAX_PAGE_SIZE), 20)
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<{ expression?: string; page: number; pageSize: number } & GlobalOptions>();
      const out = outputFor(o);
      const session = await openSession(o, out);
      const body: Record<string, unknown> = { pagination: { pageNo: o.page, pageSize: o.pageSize } };
      if (o.expression !== undefined) body['expression'] = o.expression;
      const r = await session.ok<ProductView[]>('POST', 'products', 'search', {}, body);
      const items = r.data.map((p) => withoutSecret(p, 'productSecret', false));
      out.result({ items, pagination: r.pagination }, () => productTable(items));
      if (!o.json) out.notice(pageFooter(r.pagination, items.length, 'products'));
    });
}

async function readThingModel(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the thing model ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let model: unknown;
  try {
    model = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path} is not JSON: ${(e as Error).message}`);
  }
  if (typeof model !== 'object' || model === null || Array.isArray(model))
    throw new UsageError(`${path}: the thing model must be a JSON object`);
  return model;
}
