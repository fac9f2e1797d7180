// The demo shop's catalogue: a small cross-border gift and home-goods shop, priced in USD.
import { Random } from './random.ts';

export interface DemoProduct {
  product_id: string;
  title: string;
  category: string;
  price: number;
  currency: string;
  stock: number;
  listed: number;
  tags: string[];
  description: string;
}

const CATEGORIES: Record<string, { items: string[]; price: [number, number] }> = {
  'Home > Kitchen': { items: ['Ceramic Mug', 'Tea Towel Set', 'Bamboo Cutting Board', 'Enamel Teapot', 'Spice Jar Trio', 'Linen Apron', 'Cast Iron Pan', 'Coffee Grinder'], price: [8, 60] },
  'Home > Decor': { items: ['Scented Candle', 'Brass Photo Frame', 'Woven Cushion', 'Glass Vase', 'Wall Clock', 'Fairy Lights', 'Ceramic Planter', 'Wool Throw'], price: [10, 80] },
  'Stationery': { items: ['Dot Grid Notebook', 'Fountain Pen', 'Washi Tape Pack', 'Desk Calendar', 'Greeting Card Set', 'Leather Journal', 'Brush Pen Set', 'Sticker Sheet'], price: [4, 45] },
  'Toys & Games': { items: ['Wooden Puzzle', 'Jigsaw 1000pc', 'Plush Bear', 'Card Game', 'Building Blocks', 'Kite', 'Marble Run', 'Spinning Top'], price: [6, 55] },
  'Fashion > Accessories': { items: ['Silk Scarf', 'Canvas Tote', 'Knitted Beanie', 'Leather Wallet', 'Sunglasses', 'Hair Clips', 'Wool Gloves', 'Keyring'], price: [7, 90] },
  'Beauty': { items: ['Hand Cream', 'Lip Balm Trio', 'Bath Salts', 'Face Mist', 'Soap Bar', 'Body Oil', 'Nail Kit', 'Bath Bomb Set'], price: [5, 40] },
  'Garden': { items: ['Seed Kit', 'Watering Can', 'Garden Gloves', 'Bird Feeder', 'Herb Planter', 'Pruning Shears', 'Solar Lantern', 'Plant Labels'], price: [6, 50] },
  'Electronics > Audio': { items: ['Wireless Earbuds', 'Bluetooth Speaker', 'Headphone Stand', 'Vinyl Cleaner', 'Radio Alarm Clock', 'Cable Organiser', 'USB Charger', 'Phone Stand'], price: [12, 150] },
};

const VARIANTS = ['Classic', 'Sage', 'Midnight', 'Coral'];

export function demoCatalogue(seed = 7): DemoProduct[] {
  const rnd = new Random(seed);
  const out: DemoProduct[] = [];
  let n = 1;
  for (const [category, spec] of Object.entries(CATEGORIES)) {
    for (const item of spec.items) {
      const variants = rnd.int(1, 2);
      for (let v = 0; v < variants; v++) {
        const price = Math.round((spec.price[0] + rnd.next() ** 2 * (spec.price[1] - spec.price[0])) * 100) / 100 - 0.01;
        const title = variants > 1 ? `${item} — ${VARIANTS[v]}` : item;
        out.push({
          product_id: `P${String(n++).padStart(4, '0')}`,
          title,
          category,
          price: Math.max(1.99, Math.round(price * 100) / 100),
          currency: 'USD',
          stock: rnd.chance(0.04) ? 0 : rnd.int(5, 400),
          listed: rnd.chance(0.02) ? 0 : 1,
          tags: [category.split(' > ').pop()!.toLowerCase(), item.split(' ').pop()!.toLowerCase()],
          description: `${title}: a customer favourite in ${category.split(' > ').pop()}.`,
        });
      }
    }
  }
  return out;
}
